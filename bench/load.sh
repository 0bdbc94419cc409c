#!/usr/bin/env bash
# The services under load, end to end on loopback: builds the release
# binaries, makes a fresh issuer directory, starts `creditproof serve
# issuer` and `creditproof serve verifier` on 127.0.0.1, runs
# `creditproof-bench load issuer` and `load verifier` against them, prints
# the figures and stops the services.
#
#   bench/load.sh [--wallets N] [--duration SECS] [--registry URL] [--json] [--keep]
#
#   --wallets N      concurrent wallets of each load (default 8)
#   --duration SECS  length of each measured run (default 30)
#   --registry URL   passed through to `issuer init` and `serve issuer`
#                    (e.g. postgres://postgres@127.0.0.1:5432/mydb); the
#                    CPU of the `postgres` processes is then reported too
#   --json           the figures as one JSON object per line
#   --keep           keep the temporary directory (logs, tokens)
#
# Run it from the repository root or anywhere: paths are the script's.
set -euo pipefail

wallets=8
duration=30
registry=()
json=()
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --wallets) wallets="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --registry) registry=(--registry "$2"); shift 2 ;;
        --json) json=(--json); shift ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "load.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -q -p creditproof -p creditproof-bench
bin="$target/release/creditproof"
bench="$target/release/creditproof-bench"

tmp="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$keep" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

secret() { # file: 43 random characters, owner-only
    head -c 32 /dev/urandom | base64 | tr -d '=+/\n' > "$1"
    chmod 600 "$1"
}

# Starts a service (its arguments after `serve`), waits for its
# `listening on` line; sets $started to its pid.
start() {
    local log="$tmp/$1.log"
    "$bin" serve "$@" --log-level warn > "$tmp/$1.out" 2> "$log" &
    started=$!
    pids+=("$started")
    for _ in $(seq 300); do
        if grep -q '^listening on ' "$tmp/$1.out" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$started" 2>/dev/null; then
            echo "load.sh: serve $1 exited:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "load.sh: serve $1 did not start in 30 s" >&2
    exit 1
}

iport="$(free_port)"
vport="$(free_port)"
issuer="http://127.0.0.1:$iport"
verifier="http://127.0.0.1:$vport"
secret "$tmp/admin.token"
secret "$tmp/api.token"

"$bin" issuer init --iss "$issuer" --dir "$tmp/bureau" "${registry[@]}" > /dev/null
start issuer --dir "$tmp/bureau" --listen "127.0.0.1:$iport" --public-url "$issuer" \
    --admin-token-file "$tmp/admin.token" --batch-size 16 "${registry[@]}"
issuer_pid="$started"
# Every answered transaction is held for its lifetime and retention (300 +
# 600 s by default): room for every transaction of the run.
start verifier --listen "127.0.0.1:$vport" --public-url "$verifier" --trust "$issuer" \
    --api-token-file "$tmp/api.token" --max-transactions 1000000
verifier_pid="$started"

cpu_of=()
if [ "${#registry[@]}" -gt 0 ]; then
    cpu_of=(--cpu-of postgres)
fi

nproc_="$(nproc)"
cpu="$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "machine: $cpu, $nproc_ threads; load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "registry: ${registry[1]:-SQLite (the issuer directory)}"
echo "\$ creditproof-bench load issuer --wallets $wallets --duration $duration"
"$bench" load issuer --url "$issuer" --admin-token-file "$tmp/admin.token" \
    --wallets "$wallets" --duration "$duration" --server-pid "$issuer_pid" "${cpu_of[@]}" "${json[@]}"
echo "\$ creditproof-bench load verifier --wallets $wallets --duration $duration"
"$bench" load verifier --url "$verifier" --api-token-file "$tmp/api.token" \
    --issuer-url "$issuer" --admin-token-file "$tmp/admin.token" \
    --wallets "$wallets" --duration "$duration" --server-pid "$verifier_pid" "${json[@]}"
