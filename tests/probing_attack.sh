#!/usr/bin/env bash
# Issue 15, item 4, with the real binary: a verifier that recognises a
# returning holder binary-searches its score with `score>=t` requests.
#
# The holder's score is 712 on a 350..=950 scale (a claims file with
# `score_scale`, so the default grid: cells every 50 from 400 to 900). The
# same attack runs twice, each time against a fresh wallet of 16
# credentials: once as the holder's wallet answers by default, once with
# `holder present --allow-off-grid`. The verifier checks every proof it
# gets; a refusal "does not satisfy" tells it the score is below t; a
# refusal "off the threshold grid" tells it nothing, and it tries instead
# the on-grid threshold named in the refusal nearest the middle of its
# interval, stopping when none lies inside.
#
# Prints one line per wallet with the interval consistent with every answer,
# and exits non-zero unless the default wallet leaves at least one grid
# cell (1/20 of the scale) and the permissive one gives the exact score
# away (so the check can fail).
#
# Usage: bash tests/probing_attack.sh [path/to/creditproof]
# (default: $CREDITPROOF, else target/debug/creditproof). `cargo test`
# runs it (tests/api/probing.rs).
set -euo pipefail

bin="${1:-${CREDITPROOF:-target/debug/creditproof}}"
work="$(mktemp -d "${TMPDIR:-/tmp}/creditproof-probing.XXXXXX")"
trap 'rm -rf "$work"' EXIT

score=712 min=350 max=950 credentials=16
run() { "$bin" "$@" >/dev/null; }

run issuer init --iss https://bureau.example --dir "$work/bureau"
run issuer public --dir "$work/bureau" --out "$work/bureau.pub.json"
echo "{\"score\":$score,\"score_scale\":{\"min\":$min,\"max\":$max}}" >"$work/claims.json"
for label in default permissive; do
    run holder init --wallet "$work/wallet-$label"
    run holder keys --wallet "$work/wallet-$label" --count "$credentials" --out "$work/keys-$label.json"
    run issuer issue --dir "$work/bureau" --keys "$work/keys-$label.json" --claims "$work/claims.json" \
        --out "$work/batch-$label.json"
    run holder store --wallet "$work/wallet-$label" --batch "$work/batch-$label.json"
done
run issuer status-list --dir "$work/bureau" --out-dir "$work/lists"
lists=()
for l in "$work"/lists/*.jwt; do lists+=(--status-list "$l"); done

# attack LABEL [FLAG...]: the binary search; sets lo, hi, requests, spent, off_grid.
attack() {
    local label=$1
    shift
    local wallet="$work/wallet-$label" req="$work/req.json" pres="$work/p.txt" err="$work/err.txt"
    lo=$min hi=$max requests=0 spent=0 off_grid=0
    local t=$((lo + (hi - lo + 1) / 2))
    while ((lo < hi && requests < 40)); do
        requests=$((requests + 1))
        run verifier request --aud https://lender.example --predicate "score>=$t" --out "$req"
        if "$bin" holder present --wallet "$wallet" --request "$req" --out "$pres" "$@" >/dev/null 2>"$err"; then
            run verifier verify --trust "$work/bureau.pub.json" --request "$req" --presentation "$pres" "${lists[@]}"
            spent=$((spent + 1))
            lo=$t
        elif grep -q "does not satisfy" "$err"; then
            hi=$((t - 1))
        elif grep -q "off the credential's threshold grid" "$err"; then
            off_grid=$((off_grid + 1))
            local mid=$((lo + (hi - lo + 1) / 2)) best="" c d bestd
            for c in $(sed -n 's/.*nearest on the grid: //p' "$err" | grep -o 'score>=[0-9]*' | cut -d= -f2); do
                if ((c > lo && c <= hi)); then
                    d=$((c > mid ? c - mid : mid - c))
                    if [[ -z "$best" ]] || ((d < bestd)); then best=$c bestd=$d; fi
                fi
            done
            [[ -n "$best" ]] || break
            t=$best
            continue
        else
            echo "unexpected refusal: $(cat "$err")" >&2
            exit 1
        fi
        t=$((lo + (hi - lo + 1) / 2))
    done
}

report() {
    echo "$1 wallet: score in [$lo, $hi] ($((hi - lo + 1)) wide, scale $((max - min + 1))) after $requests requests," \
        "$spent credentials spent, $off_grid off-grid refusals"
}

status=0
attack default
report default
# One cell of the default grid is at least 1/20 of the scale.
if ((lo > score || hi < score || (hi - lo + 1) * 20 < max - min + 1)); then
    echo "FAIL: the default wallet let the verifier narrow the score below one grid cell" >&2
    status=1
fi
attack permissive --allow-off-grid
report --allow-off-grid
if ((lo != score || hi != score)); then
    echo "FAIL: without the grid the attack should pin the exact score" >&2
    status=1
fi
exit "$status"
