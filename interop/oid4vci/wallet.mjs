// An independent wallet against `creditproof serve issuer`: the OpenWallet
// Foundation's OpenID4VCI client (@openid4vc/openid4vci + @openid4vc/oauth2)
// receives a batch over the pre-authorized code flow, and @sd-jwt/core
// presents each credential (disclosing `tier`) with a KB-JWT answering a
// creditproof verifier request. Nothing here comes from creditproof: keys,
// proofs, hashing and signing are Node's `crypto`, the protocol is the
// libraries'. run.sh verifies the presentations with `creditproof verifier
// verify`.
//
// Usage: node wallet.mjs --offer LINK [--tx-code CODE] --count N
//          --requests DIR --out DIR
// Writes DIR/presentation-<i>.txt for each received credential i (answering
// DIR/req-<i>.json), DIR/tampered.txt, and DIR/wallet.json (versions,
// counts, the status list URIs the credentials name). As a cross-check,
// @sd-jwt/core's own verifier must accept each presentation (with the keys
// the issuer publishes) and refuse the tampered one. Exits non-zero on any
// failure.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import { SDJwtInstance, decodeSdJwt } from '@sd-jwt/core'

const TIMEOUT_MS = 30_000

const { values: args } = parseArgs({
  options: {
    offer: { type: 'string' },
    'tx-code': { type: 'string' },
    count: { type: 'string' },
    requests: { type: 'string' },
    out: { type: 'string' },
  },
})
for (const name of ['offer', 'count', 'requests', 'out']) {
  if (!args[name]) fail(`missing --${name}`)
}
const count = Number.parseInt(args.count, 10)
if (!(count >= 1)) fail(`bad --count ${args.count}`)

function fail(message) {
  console.error(`wallet: ${message}`)
  process.exit(1)
}

// The versions actually loaded (each package's own package.json).
const require = createRequire(import.meta.url)
function version(name) {
  const main = require.resolve(name)
  let dir = path.dirname(main)
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'))).name !== name) {
    const up = path.dirname(dir)
    if (up === dir) fail(`no package.json for ${name}`)
    dir = up
  }
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'))).version
}
const versions = Object.fromEntries(
  ['@openid4vc/openid4vci', '@openid4vc/oauth2', '@openid4vc/utils', '@sd-jwt/core'].map((n) => [n, version(n)]),
)

// `http` for this loopback test (the fetch callback below refuses any other
// host): the libraries refuse it otherwise.
setGlobalConfig({ allowInsecureUrls: true })

// ------------------------------------------------------------------ crypto

const b64url = (buf) => Buffer.from(buf).toString('base64url')

const HASHES = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }
function nodeHash(alg) {
  const h = HASHES[alg.toLowerCase()]
  if (!h) throw new Error(`unsupported hash ${alg}`)
  return h
}

/** A fresh holder key: Ed25519 (`EdDSA`) or P-256 (`ES256`). */
function freshKey(alg) {
  const { publicKey, privateKey } =
    alg === 'ES256'
      ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : crypto.generateKeyPairSync('ed25519')
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' })
  const publicJwk = y === undefined ? { kty, crv, x } : { kty, crv, x, y }
  return { alg, publicJwk, privateKey }
}

/** A JWS signature over `data` (ASCII), base64url, in JOSE's encoding. */
function sign(key, data) {
  const bytes = Buffer.from(data, 'ascii')
  const sig =
    key.alg === 'ES256'
      ? crypto.sign('sha256', bytes, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : crypto.sign(null, bytes, key.privateKey)
  return b64url(sig)
}

const sameJwk = (a, b) => a && b && a.kty === b.kty && a.crv === b.crv && a.x === b.x && a.y === b.y

/** @sd-jwt/core's hasher: the digest of a string (UTF-8) or bytes. */
const hasher = (data, alg) =>
  new Uint8Array(crypto.createHash(nodeHash(alg)).update(typeof data === 'string' ? data : Buffer.from(data)).digest())

// ------------------------------------------------------------ the client

const keysByThumb = new Map()
// Every request under a timeout, and to loopback only: `allowInsecureUrls`
// lets the libraries use `http`, this keeps them on this machine.
const fetchWithTimeout = (url, init = {}) => {
  const { hostname } = new URL(url)
  if (hostname !== '127.0.0.1' && hostname !== 'localhost' && hostname !== '[::1]') {
    throw new Error(`refusing to fetch ${url}: not loopback`)
  }
  return fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) })
}

const client = new Openid4vciClient({
  callbacks: {
    fetch: fetchWithTimeout,
    hash: (data, alg) => new Uint8Array(crypto.createHash(nodeHash(alg)).update(data).digest()),
    generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`unexpected signer ${signer.method}`)
      const key = keysByThumb.get(JSON.stringify(signer.publicJwk))
      if (!key) throw new Error('asked to sign with an unknown key')
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
      return { jwt: `${input}.${sign(key, input)}`, signerJwk: signer.publicJwk }
    },
  },
})

// 1. The offer, by reference, and the issuer's metadata.
const offer = await client.resolveCredentialOffer(args.offer)
const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
if (issuerMetadata.originalDraftVersion !== 'V1') {
  fail(`the client read the metadata as ${issuerMetadata.originalDraftVersion}, not OpenID4VCI 1.0`)
}
const configurationId = offer.credential_configuration_ids[0]
const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
if (!configuration) fail(`the offer names an unknown configuration ${configurationId}`)
const batchSize = issuerMetadata.credentialIssuer.batch_credential_issuance?.batch_size ?? 1
if (count > batchSize) fail(`asked for ${count}, the issuer's batch size is ${batchSize}`)
const proofAlgs = configuration.proof_types_supported?.jwt?.proof_signing_alg_values_supported ?? []
// Half the batch Ed25519, half P-256 (each as the issuer lists it).
const algs = ['EdDSA', 'ES256'].filter((a) => proofAlgs.includes(a))
if (algs.length === 0) fail(`no proof algorithm in common: ${proofAlgs}`)

// 2. Token: pre-authorized code (+ tx_code when the offer asks for one).
const grant = offer.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']
if (!grant) fail('the offer has no pre-authorized code grant')
if (grant.tx_code && !args['tx-code']) fail('the offer asks for a tx_code')
const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer,
  issuerMetadata,
  txCode: grant.tx_code ? args['tx-code'] : undefined,
})

// 3. One c_nonce for the whole batch, and one proof per fresh key.
const { c_nonce: cNonce } = await client.requestNonce({ issuerMetadata })
const keys = Array.from({ length: count }, (_, i) => freshKey(algs[i % algs.length]))
for (const k of keys) keysByThumb.set(JSON.stringify(k.publicJwk), k)
const proofs = []
for (const k of keys) {
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: 'jwk', alg: k.alg, publicJwk: k.publicJwk },
    nonce: cNonce,
  })
  proofs.push(jwt)
}

// 4. The batch.
const result = await client.retrieveCredentials({
  issuerMetadata,
  accessToken: accessTokenResponse.access_token,
  credentialConfigurationId: configurationId,
  proofs: { jwt: proofs },
})
if (!result.ok) {
  const body = await result.response.text().catch(() => '')
  fail(`credential request failed: HTTP ${result.response.status} ${body}`)
}
const received = result.credentialResponse.credentials.map((c) => (typeof c === 'string' ? c : c.credential))
// The client keeps only what it knows of each entry; the raw answer still
// carries creditproof's extension member, which a generic wallet ignores.
const raw = await result.response.json()
const withSecrets = raw.credentials.filter((c) => typeof c.creditproof_range_secrets === 'object').length

// 5. Each credential to its key, by `cnf.jwk` (the order is not relied on).
const statusUris = new Set()
const held = []
const claimed = new Set()
for (const credential of received) {
  const decoded = await decodeSdJwt(credential, hasher)
  const payload = decoded.jwt.payload
  if (decoded.jwt.header.typ !== 'dc+sd-jwt') fail(`typ ${decoded.jwt.header.typ}`)
  const key = keys.find((k) => sameJwk(k.publicJwk, payload.cnf?.jwk))
  if (!key) fail('a credential bound to none of the keys proved')
  if (claimed.has(key)) fail('two credentials bound to one key')
  claimed.add(key)
  const uri = payload.status?.status_list?.uri
  if (uri) statusUris.add(uri)
  held.push({ credential, key })
}

// 6. Present each with @sd-jwt/core: disclose `tier`, KB-JWT to the request.
const presented = []
for (const [i, { credential, key }] of held.entries()) {
  const request = JSON.parse(fs.readFileSync(path.join(args.requests, `req-${i}.json`), 'utf8'))
  const sdjwt = new SDJwtInstance({
    hasher,
    kbSigner: (data) => sign(key, data),
    kbSignAlg: key.alg,
  })
  const presentation = await sdjwt.present(credential, { tier: true }, {
    kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: request.aud, nonce: request.nonce } },
  })
  const file = path.join(args.out, `presentation-${i}.txt`)
  fs.writeFileSync(file, presentation)
  presented.push(file)
}

// 7. A tampered copy of the first: its `tier` disclosure says "AAA" with
// the same salt. The KB-JWT's sd_hash is recomputed and re-signed by the
// holder's key, so only the issuer's digest can catch it.
{
  const { key } = held[0]
  const request = JSON.parse(fs.readFileSync(path.join(args.requests, 'req-0.json'), 'utf8'))
  const parts = fs.readFileSync(presented[0], 'utf8').split('~')
  const at = parts.findIndex((d, j) => j > 0 && j < parts.length - 1 && JSON.parse(Buffer.from(d, 'base64url'))[1] === 'tier')
  if (at < 0) fail('no tier disclosure to tamper with')
  const [salt] = JSON.parse(Buffer.from(parts[at], 'base64url'))
  parts[at] = b64url(JSON.stringify([salt, 'tier', 'AAA']))
  const sdPart = `${parts.slice(0, -1).join('~')}~`
  const sdHash = b64url(crypto.createHash('sha256').update(sdPart).digest())
  const header = { typ: 'kb+jwt', alg: key.alg }
  const payload = { iat: Math.floor(Date.now() / 1000), aud: request.aud, nonce: request.nonce, sd_hash: sdHash }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  fs.writeFileSync(path.join(args.out, 'tampered.txt'), `${sdPart}${input}.${sign(key, input)}`)
}

// 8. A cross-check, not the verdict (run.sh asks creditproof for that):
// @sd-jwt/core's own verifier, with the issuer keys published at
// /.well-known/jwt-vc-issuer (by the header's `kid`) and the holder key in
// `cnf.jwk`, must accept every presentation and refuse the tampered one.
// (SD-JWT VC: the well-known segment goes between the host and the path.)
const issuerUrl = new URL(offer.credential_issuer)
const issuerPath = issuerUrl.pathname === '/' ? '' : issuerUrl.pathname
const published = await (await fetchWithTimeout(`${issuerUrl.origin}/.well-known/jwt-vc-issuer${issuerPath}`)).json()
const verifyWith = (jwk) => {
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' })
  return (data, sig) =>
    jwk.kty === 'EC'
      ? crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))
      : crypto.verify(null, Buffer.from(data), key, Buffer.from(sig, 'base64url'))
}
async function sdJwtCoreVerifies(file, request) {
  const presentation = fs.readFileSync(file, 'utf8')
  const { kid } = JSON.parse(Buffer.from(presentation.split('.')[0], 'base64url'))
  const issuerJwk = published.jwks.keys.find((k) => k.kid === kid)
  if (!issuerJwk) return false
  const verifier = new SDJwtInstance({
    hasher,
    verifier: verifyWith(issuerJwk),
    kbVerifier: (data, sig, payload) => verifyWith(payload.cnf.jwk)(data, sig),
  })
  try {
    const { payload, kb } = await verifier.verify(presentation, {
      requireKeyBindings: true,
      keyBindingNonce: request.nonce,
    })
    return payload.iss === offer.credential_issuer && payload.tier === 'A' && kb?.payload.aud === request.aud
  } catch {
    return false
  }
}
let sdJwtCoreVerified = 0
for (const [i, file] of presented.entries()) {
  const request = JSON.parse(fs.readFileSync(path.join(args.requests, `req-${i}.json`), 'utf8'))
  if (await sdJwtCoreVerifies(file, request)) sdJwtCoreVerified++
}
const tamperedRequest = JSON.parse(fs.readFileSync(path.join(args.requests, 'req-0.json'), 'utf8'))
const sdJwtCoreRejectedTampered = !(await sdJwtCoreVerifies(path.join(args.out, 'tampered.txt'), tamperedRequest))

const algCounts = {}
for (const { key } of held) algCounts[key.alg] = (algCounts[key.alg] ?? 0) + 1
const summary = {
  versions,
  node: process.version,
  // How the client classified the issuer's metadata (V1 = OpenID4VCI 1.0).
  metadata_version: issuerMetadata.originalDraftVersion,
  asked: count,
  received: received.length,
  with_range_secrets: withSecrets,
  presented: presented.length,
  sd_jwt_core_verified: sdJwtCoreVerified,
  sd_jwt_core_rejected_tampered: sdJwtCoreRejectedTampered,
  holder_algs: algCounts,
  token_type: accessTokenResponse.token_type,
  status_uris: [...statusUris],
  tx_code: Boolean(grant.tx_code),
}
fs.writeFileSync(path.join(args.out, 'wallet.json'), `${JSON.stringify(summary, null, 2)}\n`)
console.log(JSON.stringify(summary))
if (sdJwtCoreVerified !== presented.length || !sdJwtCoreRejectedTampered) {
  fail(`@sd-jwt/core verified ${sdJwtCoreVerified}/${presented.length}, rejected the tampered one: ${sdJwtCoreRejectedTampered}`)
}

