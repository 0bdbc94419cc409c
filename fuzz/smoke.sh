#!/usr/bin/env bash
# Builds every fuzz target and runs each for ${FUZZ_SECONDS:-20} seconds.
# Prints `fuzz <target>: <N> execs, <C> crashes` per target; exits 1 on a
# crash (or a failed build), 0 otherwise. Without a nightly toolchain it
# prints `fuzz: skipped (no nightly toolchain)` and exits 0.
# New inputs found go to a temporary directory; corpus/ is only read.
set -u
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped (no nightly toolchain)"
    exit 0
fi
# cargo-fuzz, when missing, is installed inside the build tree
# (fuzz/target/tools), not into ~/.cargo/bin.
export PATH="$PWD/target/tools/bin:$PATH"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz into fuzz/target/tools" >&2
    if ! cargo install cargo-fuzz --locked --root "$PWD/target/tools" >&2; then
        echo "fuzz: skipped (cargo-fuzz not installable)"
        exit 0
    fi
fi

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^creditproof-fuzz$')
if ! cargo +nightly fuzz build >&2; then
    echo "fuzz: build failed"
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in $targets; do
    mkdir -p "$work/$t" "corpus/$t"
    log="$work/$t.log"
    cargo +nightly fuzz run "$t" "$work/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        echo "fuzz $t: ${execs:-0} execs, 0 crashes"
    else
        status=1
        echo "fuzz $t: ${execs:-0} execs, 1 crash (exit $rc)"
        grep -E "panicked at|^SUMMARY|Test unit written to|ERROR: libFuzzer" "$log" | head -n 8 | sed 's/^/    /'
        grep -A3 "panicked at" "$log" | head -n 6 | sed 's/^/    /'
    fi
done
exit "$status"
