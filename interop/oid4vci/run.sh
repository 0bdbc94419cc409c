#!/usr/bin/env bash
# Interop: the OpenWallet Foundation's OpenID4VCI client (npm) as the wallet
# against `creditproof serve issuer`, presenting through @sd-jwt/core, and
# `creditproof verifier verify` as the verifier. See interop/README.md.
#
# Usage: bash interop/oid4vci/run.sh [PATH-TO-creditproof]
# Without an argument it builds the CLI (`cargo build`, honouring
# CARGO_TARGET_DIR). OID4VCI_KEEP=1 keeps the work directory;
# OID4VCI_COUNT sets the batch size (16). Needs Node.js 20+ and npm (the npm registry for
# `npm ci`); exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
count="${OID4VCI_COUNT:-16}"
tag=oid4vci
keep="${OID4VCI_KEEP:-}"
# shellcheck source=../npm-lib.sh
. "$here/../npm-lib.sh"
interop_init "$@"

fetch_to() { # URL FILE: GET with a timeout; fails on a non-2xx answer
    timeout 60 node -e '
        const [url, file] = process.argv.slice(1);
        (async () => {
            const r = await fetch(url, { signal: AbortSignal.timeout(30000) })
            if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`)
            require("node:fs").writeFileSync(file, Buffer.from(await r.arrayBuffer()))
        })().catch((e) => { console.error(String(e)); process.exit(1) })
    ' "$1" "$2"
}

# The service on a free loopback port.
start issuer serve issuer --listen '127.0.0.1:{port}' --public-url '{url}' --batch-size "$count"

# An offer of a score credential, with a transaction code.
cat >"$work/claims.json" <<'EOF'
{"tier": "A", "score": 712, "score_scale": {"min": 350, "max": 950},
 "perks": {"no_deposit_rental": true, "express_security": true}}
EOF
cli issuer offer --dir "$dir" --claims "$work/claims.json" --tx-code >"$work/offer.txt"
link="$(sed -n 1p "$work/offer.txt")"
tx_code="$(sed -n 2p "$work/offer.txt")"
case "$link" in openid-credential-offer://\?credential_offer_uri=*) ;; *)
    echo "interop oid4vci: unexpected offer link: $link" >&2; exit 1 ;;
esac

# One verifier request (fresh nonce) per credential: disclose `tier`.
mkdir "$work/p"
for i in $(seq 0 $((count - 1))); do
    cli verifier request --aud "https://lender.example" --disclose tier --out "$work/p/req-$i.json" >/dev/null
done

# The wallet: receive the batch, present each credential.
if ! timeout 180 node "$here/wallet.mjs" --offer "$link" --tx-code "$tx_code" --count "$count" \
    --requests "$work/p" --out "$work/p" >"$work/wallet.out" 2>"$work/wallet.err"; then
    echo "interop oid4vci: the wallet failed" >&2
    cat "$work/wallet.err" "$work/wallet.out" >&2
    logs
    exit 1
fi
summary="$work/p/wallet.json"
j() { node -e 'const s = require(require("node:path").resolve(process.argv[1])); console.log(eval("s" + process.argv[2]))' "$summary" "$1"; }

# The verifier's inputs, fetched from the service: the issuer's keys and
# every status list the credentials name.
fetch_to "$url/.well-known/jwt-vc-issuer" "$work/bureau.pub.json"
lists=()
n=0
for uri in $(j '.status_uris.join(" ")'); do
    n=$((n + 1))
    fetch_to "$uri" "$work/list-$n.jwt"
    lists+=(--status-list "$work/list-$n.jwt")
done

received="$(j .received)"
presented="$(j .presented)"
verified=0
failures=0
for i in $(seq 0 $((presented - 1))); do
    if cli verifier verify --trust "$work/bureau.pub.json" --request "$work/p/req-$i.json" \
        --presentation "$work/p/presentation-$i.txt" "${lists[@]}" >"$work/verdict-$i.json" 2>&1 &&
        grep -q '"accepted": *true' "$work/verdict-$i.json" &&
        grep -q '"tier": *"A"' "$work/verdict-$i.json"; then
        verified=$((verified + 1))
    else
        failures=$((failures + 1))
        if [ "$failures" -le 3 ]; then
            echo "interop oid4vci: presentation $i rejected:" >&2
            cat "$work/verdict-$i.json" >&2
        fi
    fi
done

rejected=0
set +e
cli verifier verify --trust "$work/bureau.pub.json" --request "$work/p/req-0.json" \
    --presentation "$work/p/tampered.txt" "${lists[@]}" >"$work/verdict-tampered.json" 2>&1
code=$?
set -e
if [ "$code" -eq 1 ] && grep -q '"accepted": *false' "$work/verdict-tampered.json"; then
    rejected=1
    tampered_check="$(node -e 'console.log(require(process.argv[1]).error?.check ?? "?")' "$work/verdict-tampered.json")"
else
    echo "interop oid4vci: the tampered presentation was not rejected (exit $code):" >&2
    cat "$work/verdict-tampered.json" >&2
fi

echo "interop oid4vci: @openid4vc/openid4vci $(j "['versions']['@openid4vc/openid4vci']") + @openid4vc/oauth2 $(j "['versions']['@openid4vc/oauth2']") (Node $(j .node)) received $received/$count credentials (metadata read as OpenID4VCI $(j .metadata_version), tx_code, $(j '.holder_algs.EdDSA ?? 0') EdDSA + $(j '.holder_algs.ES256 ?? 0') ES256 holder keys, $(j .with_range_secrets) with creditproof_range_secrets); @sd-jwt/core $(j "['versions']['@sd-jwt/core']") presented $presented (and verified $(j .sd_jwt_core_verified)/$presented itself), creditproof verified $verified/$presented, rejected $rejected/1 tampered${tampered_check:+ ($tampered_check)}"
[ "$received" -eq "$count" ] && [ "$presented" -eq "$count" ] && [ "$verified" -eq "$presented" ] && [ "$rejected" -eq 1 ]
