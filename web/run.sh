#!/usr/bin/env bash
# The browser wallet, end to end (issue 19): builds the holder for wasm32
# (wasm/, with wasm-bindgen), starts `serve issuer`, `serve verifier --desk`
# and `serve wallet` on loopback, and drives headless Chromium (Debian's
# `chromium`, through playwright-core from npm) through the story: offer
# link → the wallet receives a batch of 16 → the desk's check → the
# same-device link → the consent screen → eligible; an off-grid threshold
# refused with the reason; the issuer revokes → the desk shows revoked.
# Screenshots go to target/browser/; any console error fails the run.
# Prints the wasm module's size (raw and gzip), the time to present in the
# browser, and the time from link click to verdict.
#
# Usage: bash web/run.sh [--demo]
#   --demo  start everything and leave it running (no browser): prints the
#           wallet's and the desk's URLs and an offer link; Ctrl-C stops.
# Needs: rustup (or the wasm32-unknown-unknown target installed), clang,
# chromium (CHROMIUM=path to override), Node.js 20+ with npm. The
# wasm-bindgen CLI (exactly the wasm-bindgen crate's version) is installed
# once with `cargo install` under target/tools/. BROWSER_KEEP=1 keeps the
# work directory.
set -euo pipefail
here="$(cd "$(dirname "$0")/e2e" && pwd)"
tag=browser
keep="${BROWSER_KEEP:-}"
demo=""
if [ "${1:-}" = --demo ]; then demo=1; shift; fi
# shellcheck source=../interop/npm-lib.sh
. "$here/../../interop/npm-lib.sh"
interop_init "$@"

target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="$target/browser"
mkdir -p "$out"

# The wasm-bindgen CLI, exactly the crate's version (from Cargo.lock).
wb_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$root/Cargo.lock")"
wb_root="$target/tools/wasm-bindgen-$wb_version"
if [ ! -x "$wb_root/bin/wasm-bindgen" ]; then
    echo "browser: installing wasm-bindgen-cli $wb_version under $wb_root (once)" >&2
    cargo install -q wasm-bindgen-cli --version "$wb_version" --root "$wb_root" >&2
fi

# The holder for wasm32: ring's C parts need clang.
if command -v rustup >/dev/null; then rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true; fi
(cd "$root" && CC_wasm32_unknown_unknown="${CC_wasm32_unknown_unknown:-clang}" \
    cargo build -q -p creditproof-wasm --target wasm32-unknown-unknown --profile wasm)
pkg="$work/pkg"
"$wb_root/bin/wasm-bindgen" --target web --no-typescript --out-dir "$pkg" --out-name creditproof_wasm \
    "$target/wasm32-unknown-unknown/wasm/creditproof_wasm.wasm"
raw=$(wc -c <"$pkg/creditproof_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/creditproof_wasm_bg.wasm" | wc -c)

# The bureau (16 credentials per batch; status lists with a 2 s ttl so a
# revocation shows within seconds), an offer with a transaction code.
head -c 32 /dev/urandom | base64 >"$work/admin.token"
chmod 600 "$work/admin.token"
start issuer serve issuer --listen '127.0.0.1:{port}' --public-url '{url}' --batch-size 16 \
    --admin-token-file "$work/admin.token" --status-ttl-secs 2 --status-validity-secs 3600
issuer="$url"
cat >"$work/claims.json" <<'JSON'
{"tier": "A", "score": 712, "score_scale": {"min": 350, "max": 950},
 "perks": {"no_deposit_rental": true, "express_security": false}}
JSON
cli issuer offer --dir "$dir" --claims "$work/claims.json" --tx-code >"$work/offer.txt"
offer="$(sed -n 1p "$work/offer.txt")"
tx_code="$(sed -n 2p "$work/offer.txt")"

# A signed score breakdown for the wallet's breakdown page (the OpenID4VCI
# flow carries none): a batch from a paper bureau, scored under the
# shipped sesame-style policy.
cli issuer init --iss https://bureau.example --dir "$work/paper" >/dev/null
cli holder init --wallet "$work/paper-wallet" >/dev/null
nonce="$(cli issuer nonce --dir "$work/paper")"
cli holder keys --wallet "$work/paper-wallet" --count 1 --issuer https://bureau.example --nonce "$nonce" \
    --out "$work/paper-keys.json" >/dev/null
cli issuer issue --dir "$work/paper" --keys "$work/paper-keys.json" --policy sesame-style \
    --records "$root/policies/examples/records-sesame-style.json" --require-nonce --out "$work/paper-batch.json" >/dev/null
node -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).breakdown)' \
    "$work/paper-batch.json" >"$work/breakdown.jwt"

# The rental company's verifier with its desk page (asks score>=650).
head -c 32 /dev/urandom | base64 >"$work/api.token"
chmod 600 "$work/api.token"
start verifier serve verifier --listen '127.0.0.1:{port}' --public-url '{url}' --trust "$issuer" \
    --api-token-file "$work/api.token" --status-min-ttl-secs 1 --desk
verifier="$url"

# The web wallet.
start wallet serve wallet --listen '127.0.0.1:{port}' --module-dir "$pkg"
wallet="$url"

if [ -n "$demo" ]; then
    echo "wallet:  $wallet/wallet/"
    echo "desk:    $verifier/desk/?wallet=$wallet"
    echo "offer:   $offer"
    echo "tx code: $tx_code"
    echo "(open the offer in the wallet: $wallet/wallet/#offer=<the offer link, URL-encoded>; Ctrl-C stops)"
    while true; do sleep 3600; done
fi

if ! CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" timeout 300 node "$here/e2e.mjs" \
    --issuer "$issuer" --verifier "$verifier" --wallet "$wallet" --offer "$offer" --tx-code "$tx_code" \
    --admin-token-file "$work/admin.token" --api-token-file "$work/api.token" --breakdown-file "$work/breakdown.jwt" --out "$out" \
    >"$work/e2e.out" 2>"$work/e2e.err"; then
    echo "browser: the end-to-end run failed" >&2
    cat "$work/e2e.err" "$work/e2e.out" >&2
    logs
    exit 1
fi
cat "$work/e2e.out"
echo "browser: wasm module $raw bytes raw, $gz bytes gzip (goal: <= 600 KB gzip)"
[ "$gz" -le 614400 ] || { echo "browser: the module is over 600 KB gzip" >&2; exit 1; }
