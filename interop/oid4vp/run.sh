#!/usr/bin/env bash
# Interop: an OpenID4VP wallet built on the OpenWallet Foundation's npm
# packages (@openid4vc/openid4vp, dcql, @sd-jwt/core; credentials received
# with @openid4vc/openid4vci) against `creditproof serve verifier`. See
# interop/README.md.
#
# Usage: bash interop/oid4vp/run.sh [PATH-TO-creditproof]
# Without an argument it builds the CLI (`cargo build`, honouring
# CARGO_TARGET_DIR). OID4VP_KEEP=1 keeps the work directory. Needs Node.js
# 20+ and npm (the npm registry for `npm ci`); exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tag=oid4vp
keep="${OID4VP_KEEP:-}"
# shellcheck source=../npm-lib.sh
. "$here/../npm-lib.sh"
interop_init "$@"

# The issuer, and an offer of a score credential (one per answer below).
answers=3
start issuer serve issuer --listen '127.0.0.1:{port}' --public-url '{url}' --batch-size "$answers"
issuer="$url"
cat >"$work/claims.json" <<'JSON'
{"tier": "A", "score": 712, "score_scale": {"min": 350, "max": 950},
 "perks": {"no_deposit_rental": true, "express_security": true}}
JSON
cli issuer offer --dir "$dir" --claims "$work/claims.json" --tx-code >"$work/offer.txt"
offer="$(sed -n 1p "$work/offer.txt")"
tx_code="$(sed -n 2p "$work/offer.txt")"

# The verifier service, trusting the issuer by its identifier.
head -c 32 /dev/urandom | base64 >"$work/api.token"
chmod 600 "$work/api.token"
start verifier serve verifier --listen '127.0.0.1:{port}' --public-url '{url}' \
    --trust "$issuer" --api-token-file "$work/api.token"
verifier="$url"

# Three Tier-1 transactions (perk:no_deposit_rental, tier): by reference
# (the default), by value, and one the wallet answers tampered.
ask() { # NAME [--by-value]
    local name="$1"
    shift
    cli verifier ask --service "$verifier" --api-token-file "$work/api.token" \
        --predicate perk:no_deposit_rental --disclose tier "$@" >"$work/ask-$name.txt"
    sed -n 1p "$work/ask-$name.txt" >"$work/tx-$name"
    case "$(sed -n 2p "$work/ask-$name.txt")" in openid4vp://*) ;; *)
        echo "interop oid4vp: unexpected link from verifier ask:" >&2
        cat "$work/ask-$name.txt" >&2
        exit 1 ;;
    esac
}
ask by-reference
ask by-value --by-value
ask tampered
{
    echo "honest $(sed -n 2p "$work/ask-by-reference.txt")"
    echo "honest $(sed -n 2p "$work/ask-by-value.txt")"
    echo "tampered $(sed -n 2p "$work/ask-tampered.txt")"
} >"$work/links.txt"

if ! timeout 180 node "$here/wallet.mjs" --offer "$offer" --tx-code "$tx_code" \
    --links "$work/links.txt" --out "$work" >"$work/wallet.out" 2>"$work/wallet.err"; then
    echo "interop oid4vp: the wallet failed" >&2
    cat "$work/wallet.err" "$work/wallet.out" >&2
    logs
    exit 1
fi
summary="$work/wallet.json"
j() { node -e 'const s = require(require("node:path").resolve(process.argv[1])); console.log(eval("s" + process.argv[2]))' "$summary" "$1"; }

result() { # NAME: the verdict's exit code (0 accepted, 1 rejected, 3 pending)
    set +e
    cli verifier result --service "$verifier" --api-token-file "$work/api.token" \
        --transaction "$(cat "$work/tx-$1")" --wait 10 >"$work/verdict-$1.json" 2>"$work/verdict-$1.err"
    local code=$?
    set -e
    return $code
}
v() { node -e 'const s = require(process.argv[1]); console.log(eval("s" + process.argv[2]))' "$work/verdict-$1.json" "$2"; }

accepted=0
for name in by-reference by-value; do
    if result "$name" && [ "$(v "$name" .accepted)" = true ] && [ "$(v "$name" .tier)" = 1 ] &&
        [ "$(v "$name" .disclosed.tier)" = A ] &&
        [ "$(v "$name" '.proven.includes("perk:no_deposit_rental")')" = true ]; then
        accepted=$((accepted + 1))
    else
        echo "interop oid4vp: the $name answer was not accepted:" >&2
        cat "$work/verdict-$name.json" "$work/verdict-$name.err" >&2
    fi
done

rejected=0
check=""
if result tampered; then code=0; else code=$?; fi
if [ "$code" -eq 1 ] && [ "$(v tampered .accepted)" = false ]; then
    rejected=1
    check="$(v tampered '.error?.check ?? "?"')"
else
    echo "interop oid4vp: the tampered answer was not rejected (exit $code):" >&2
    cat "$work/verdict-tampered.json" "$work/verdict-tampered.err" >&2
fi

ver() { j "['versions']['$1']"; }
# By value the library resolves the request itself, with no help.
if [ "$(j '.answers[1].by')" != library ]; then
    echo "interop oid4vp: the library did not resolve the by-value request itself" >&2
    accepted=0
fi
ref_by="$(j '.answers[0].by')"
note=""
if [ "$ref_by" = workaround ]; then
    note="; by reference the library refuses the unsigned request object (\"$(j '.answers[0].library_error')\"), so the wallet checks it and hands its claims to the library"
fi
echo "interop oid4vp: @openid4vc/openid4vp $(ver @openid4vc/openid4vp) + dcql $(ver dcql) + @sd-jwt/core $(ver @sd-jwt/core) (Node $(j .node); credentials by @openid4vc/openid4vci $(ver @openid4vc/openid4vci)) answered $accepted/2 Tier-1 requests (perk:no_deposit_rental, tier; by reference and by value): accepted; tampered: $([ "$rejected" -eq 1 ] && echo "rejected ($check)" || echo "NOT rejected")$note"
[ "$accepted" -eq 2 ] && [ "$rejected" -eq 1 ]
