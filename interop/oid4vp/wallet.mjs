// An independent OpenID4VP wallet against `creditproof serve verifier`,
// built on the OpenWallet Foundation's npm packages: it receives its
// credentials from `creditproof serve issuer` with @openid4vc/openid4vci
// (keys it generates and holds), resolves each `openid4vp://` link with
// @openid4vc/openid4vp, evaluates the DCQL query with `dcql`, presents with
// @sd-jwt/core (KB-JWT `aud` = the full client identifier, `nonce` = the
// request's) and posts the `direct_post` answer with @openid4vc/openid4vp.
// Nothing here comes from creditproof: keys and signatures are Node's
// `crypto`, the protocol is the libraries'. run.sh reads the verdicts with
// `creditproof verifier result`.
//
// Usage: node wallet.mjs --offer LINK [--tx-code CODE] --links FILE --out DIR
// FILE holds one `<mode> <openid4vp link>` a line; mode `honest` answers
// the request, `tampered` answers it with a presentation whose `tier`
// disclosure was changed after issuance (the KB-JWT recomputed and signed
// by the holder's own key, so only the issuer's digests can catch it).
// Writes DIR/wallet.json (versions, counts, what the libraries did).
// Exits non-zero on any failure.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'

import { Openid4vciClient, setGlobalConfig } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { SDJwtInstance, decodeSdJwt } from '@sd-jwt/core'
import { DcqlQuery } from 'dcql'

const TIMEOUT_MS = 30_000

const { values: args } = parseArgs({
  options: {
    offer: { type: 'string' },
    'tx-code': { type: 'string' },
    links: { type: 'string' },
    out: { type: 'string' },
  },
})
for (const name of ['offer', 'links', 'out']) {
  if (!args[name]) fail(`missing --${name}`)
}
const links = fs
  .readFileSync(args.links, 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => {
    const [mode, link] = l.trim().split(/\s+/)
    if (mode !== 'honest' && mode !== 'tampered') fail(`bad mode ${mode}`)
    return { mode, link }
  })

function fail(message) {
  console.error(`wallet: ${message}`)
  process.exit(1)
}

// The versions actually loaded (each package's own package.json).
const require = createRequire(import.meta.url)
function version(name) {
  let dir = path.dirname(require.resolve(name))
  for (;;) {
    const file = path.join(dir, 'package.json')
    if (fs.existsSync(file) && JSON.parse(fs.readFileSync(file)).name === name) {
      return JSON.parse(fs.readFileSync(file)).version
    }
    const up = path.dirname(dir)
    if (up === dir) fail(`no package.json for ${name}`)
    dir = up
  }
}
const versions = Object.fromEntries(
  ['@openid4vc/openid4vp', '@openid4vc/openid4vci', '@openid4vc/oauth2', 'dcql', '@sd-jwt/core'].map((n) => [n, version(n)]),
)

// `http` for this loopback test (the fetch callback below refuses any other
// host): the libraries refuse it otherwise. (@openid4vc/openid4vp shares
// @openid4vc/utils' global config with @openid4vc/openid4vci.)
setGlobalConfig({ allowInsecureUrls: true })

// ------------------------------------------------------------------ crypto

const b64url = (buf) => Buffer.from(buf).toString('base64url')
const fromB64urlJson = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))

const HASHES = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }
function nodeHash(alg) {
  const h = HASHES[alg.toLowerCase()]
  if (!h) throw new Error(`unsupported hash ${alg}`)
  return h
}
const hash = (data, alg) =>
  new Uint8Array(crypto.createHash(nodeHash(alg)).update(typeof data === 'string' ? data : Buffer.from(data)).digest())

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

// ------------------------------------------------------------ HTTP

// Every request under a timeout, and to loopback only: `allowInsecureUrls`
// lets the libraries use `http`, this keeps them on this machine. The
// request-object fetches are recorded (what the library sent, what it got).
const requestObjectFetches = []
const loopbackFetch = async (url, init = {}) => {
  const { hostname, pathname } = new URL(url)
  if (hostname !== '127.0.0.1' && hostname !== 'localhost' && hostname !== '[::1]') {
    throw new Error(`refusing to fetch ${url}: not loopback`)
  }
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) })
  if (pathname.startsWith('/request/')) {
    requestObjectFetches.push({
      url: String(url),
      method: init.method ?? 'GET',
      sent: init.body === undefined ? '' : String(init.body),
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: await response.clone().text(),
    })
  }
  return response
}

// ------------------------------------------------- 1. receive credentials

const keysByJwk = new Map()
const vci = new Openid4vciClient({
  callbacks: {
    fetch: loopbackFetch,
    hash,
    generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`unexpected signer ${signer.method}`)
      const key = keysByJwk.get(JSON.stringify(signer.publicJwk))
      if (!key) throw new Error('asked to sign with an unknown key')
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
      return { jwt: `${input}.${sign(key, input)}`, signerJwk: signer.publicJwk }
    },
  },
})

const offer = await vci.resolveCredentialOffer(args.offer)
const issuerMetadata = await vci.resolveIssuerMetadata(offer.credential_issuer)
const configurationId = offer.credential_configuration_ids[0]
const configuration = issuerMetadata.credentialIssuer.credential_configurations_supported[configurationId]
if (!configuration) fail(`the offer names an unknown configuration ${configurationId}`)
const proofAlgs = configuration.proof_types_supported?.jwt?.proof_signing_alg_values_supported ?? []
const algs = ['EdDSA', 'ES256'].filter((a) => proofAlgs.includes(a))
if (algs.length === 0) fail(`no proof algorithm in common: ${proofAlgs}`)
const grant = offer.grants?.['urn:ietf:params:oauth:grant-type:pre-authorized_code']
if (!grant) fail('the offer has no pre-authorized code grant')
if (grant.tx_code && !args['tx-code']) fail('the offer asks for a tx_code')
const { accessTokenResponse } = await vci.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer,
  issuerMetadata,
  txCode: grant.tx_code ? args['tx-code'] : undefined,
})
const { c_nonce: cNonce } = await vci.requestNonce({ issuerMetadata })
// One credential (and key) per answer: EdDSA and ES256 in turn.
const keys = links.map((_, i) => freshKey(algs[i % algs.length]))
for (const k of keys) keysByJwk.set(JSON.stringify(k.publicJwk), k)
const proofs = []
for (const k of keys) {
  const { jwt } = await vci.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: 'jwk', alg: k.alg, publicJwk: k.publicJwk },
    nonce: cNonce,
  })
  proofs.push(jwt)
}
const issued = await vci.retrieveCredentials({
  issuerMetadata,
  accessToken: accessTokenResponse.access_token,
  credentialConfigurationId: configurationId,
  proofs: { jwt: proofs },
})
if (!issued.ok) {
  const body = await issued.response.text().catch(() => '')
  fail(`credential request failed: HTTP ${issued.response.status} ${body}`)
}
const sdjwtPlain = new SDJwtInstance({ hasher: hash })
const held = []
for (const c of issued.credentialResponse.credentials) {
  const credential = typeof c === 'string' ? c : c.credential
  const decoded = await decodeSdJwt(credential, hash)
  const payload = decoded.jwt.payload
  const key = keys.find((k) => sameJwk(k.publicJwk, payload.cnf?.jwk))
  if (!key) fail('a credential bound to none of the keys proved')
  if (held.some((h) => h.key === key)) fail('two credentials bound to one key')
  // What dcql matches against: the credential with every disclosure applied.
  const claims = await sdjwtPlain.getClaims(credential)
  held.push({ credential, key, vct: payload.vct, claims, used: false })
}
if (held.length !== links.length) fail(`asked for ${links.length} credentials, received ${held.length}`)

// --------------------------------------------------- 2. answer each link

const vp = new Openid4vpClient({
  callbacks: {
    fetch: loopbackFetch,
    hash,
    // Only ever asked for a signed request object: none is trusted here.
    verifyJwt: async () => ({ verified: false }),
    signJwt: async () => {
      throw new Error('this wallet signs no JARM response')
    },
  },
})

/**
 * The library's own resolution; for a request object by reference from a
 * `redirect_uri:` client (unsigned, `alg: none`, as OpenID4VP 1.0 §5.9.3
 * requires: such requests cannot be signed), @openid4vc/openid4vp 0.4.6
 * refuses the JWT (`zCompactJwt` wants a non-empty signature, and no signer
 * method is allowed for `redirect_uri`). Then the wallet takes the request
 * object the library fetched (it is served once), checks it as RFC 9101 +
 * OpenID4VP say for an unsigned one, and hands its claims to the library's
 * resolution as a plain request: the DCQL, client and response checks are
 * still the library's.
 */
async function resolve(link) {
  const parsed = vp.parseOpenid4vpAuthorizationRequest({ authorizationRequest: link })
  const params = parsed.params
  const before = requestObjectFetches.length
  try {
    return { resolved: await vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: params }), by: 'library' }
  } catch (error) {
    if (!params.request_uri) throw error
    const fetched = requestObjectFetches.slice(before).find((f) => f.url === params.request_uri)
    if (!fetched || fetched.status !== 200) throw error
    const parts = fetched.body.trim().split('.')
    if (parts.length !== 3) throw error
    const header = fromB64urlJson(parts[0])
    const payload = fromB64urlJson(parts[1])
    if (header.alg !== 'none' || parts[2] !== '') throw new Error(`a signed request object the library refused: ${error}`)
    if (header.typ !== 'oauth-authz-req+jwt') throw new Error(`request object typ ${header.typ}`)
    if (!String(params.client_id).startsWith('redirect_uri:')) throw new Error(`unsigned request from ${params.client_id}`)
    if (payload.client_id !== params.client_id) throw new Error('the request object names another client_id')
    if (payload.request_uri !== undefined || payload.request !== undefined) throw new Error('a nested request object')
    const { iss: _iss, aud: _aud, iat: _iat, exp: _exp, nbf: _nbf, jti: _jti, ...request } = payload
    if (payload.exp !== undefined && payload.exp < Date.now() / 1000) throw new Error('the request object has expired')
    const resolved = await vp.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: request })
    return {
      resolved,
      by: 'workaround',
      libraryError: String(error?.errorResponse?.error_description ?? error?.message ?? error),
      libraryCause: error?.cause ? String(error.cause?.message ?? error.cause) : undefined,
      sentToRequestUri: fetched.sent,
    }
  }
}

/** The presentation frame for one DCQL credential query (claim paths). */
function frameFor(query) {
  const frame = {}
  for (const claim of query.claims ?? []) {
    let at = frame
    claim.path.forEach((step, i) => {
      if (typeof step !== 'string') throw new Error(`path step ${step}: only object members here`)
      if (i === claim.path.length - 1) at[step] = true
      else at = at[step] = at[step] === true ? {} : (at[step] ?? {})
    })
  }
  return frame
}

/** The presentation with `tier` changed after issuance; KB-JWT redone. */
function tamper(presentation, key, kbPayload) {
  const parts = presentation.split('~')
  const at = parts.findIndex((d, j) => j > 0 && j < parts.length - 1 && fromB64urlJson(d)[1] === 'tier')
  if (at < 0) fail('no tier disclosure to tamper with')
  const [salt, , value] = fromB64urlJson(parts[at])
  parts[at] = b64url(JSON.stringify([salt, 'tier', value === 'AAA' ? 'AA' : 'AAA']))
  const sdPart = `${parts.slice(0, -1).join('~')}~`
  const sdHash = b64url(crypto.createHash('sha256').update(sdPart).digest())
  const header = { typ: 'kb+jwt', alg: key.alg }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify({ ...kbPayload, sd_hash: sdHash }))}`
  return `${sdPart}${input}.${sign(key, input)}`
}

const answers = []
for (const { mode, link } of links) {
  const { resolved, by, libraryError, libraryCause, sentToRequestUri } = await resolve(link)
  const request = resolved.authorizationRequestPayload
  if (!resolved.dcql) fail('the request carries no DCQL query')
  if (request.response_mode !== 'direct_post') fail(`response_mode ${request.response_mode}`)

  // DCQL: parse, validate, match against the held (unused) credentials.
  const query = DcqlQuery.parse(resolved.dcql.query)
  DcqlQuery.validate(query)
  const free = held.filter((h) => !h.used)
  const result = DcqlQuery.query(
    query,
    free.map((h) => ({ credential_format: 'dc+sd-jwt', vct: h.vct, claims: h.claims, cryptographic_holder_binding: true })),
  )
  if (!result.can_be_satisfied) fail(`dcql: the query cannot be satisfied: ${JSON.stringify(result)}`)

  const clientId = resolved.client.clientId ?? request.client_id
  const vpToken = {}
  const claimPaths = []
  for (const cq of query.credentials) {
    const match = result.credential_matches[cq.id]
    if (!match?.success) fail(`dcql: no match for ${cq.id}`)
    const index = match.valid_credentials?.[0]?.input_credential_index ?? match.input_credential_index
    const h = free[index]
    h.used = true
    const frame = frameFor(cq)
    claimPaths.push(...(cq.claims ?? []).map((c) => c.path.join('.')))
    const kbPayload = { iat: Math.floor(Date.now() / 1000), aud: clientId, nonce: request.nonce }
    const sdjwt = new SDJwtInstance({ hasher: hash, kbSigner: (data) => sign(h.key, data), kbSignAlg: h.key.alg })
    let presentation = await sdjwt.present(h.credential, frame, { kb: { payload: kbPayload } })
    if (mode === 'tampered') presentation = tamper(presentation, h.key, kbPayload)
    vpToken[cq.id] = [presentation]
  }

  const { authorizationResponsePayload } = await vp.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken },
  })
  const submitted = await vp.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload,
  })
  const status = submitted.response.status
  const body = await submitted.response.text().catch(() => '')
  answers.push({
    mode,
    by,
    library_error: libraryError,
    library_cause: libraryCause,
    sent_to_request_uri: sentToRequestUri,
    client_id: clientId,
    openid4vp_version: resolved.version,
    credential_queries: query.credentials.map((c) => c.id),
    claim_paths: claimPaths,
    response_mode: submitted.responseMode,
    http_status: status,
    http_body: body.slice(0, 500),
  })
}

const summary = { versions, node: process.version, received: held.length, answers }
fs.writeFileSync(path.join(args.out, 'wallet.json'), `${JSON.stringify(summary, null, 2)}\n`)
console.log(JSON.stringify(summary))
