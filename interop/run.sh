#!/usr/bin/env bash
# Cross-implementation tests: creditproof against the Python reference
# implementation of SD-JWT (sd-jwt on PyPI, with jwcrypto), both directions.
# Needs Python 3 with venv/pip and the Rust toolchain; see interop/README.md.
# Exits non-zero on any mismatch. Usage: bash interop/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
python="${PYTHON:-python3}"

# A virtualenv with exactly the pinned versions; rebuilt when the pins change.
venv="$target/interop-venv"
stamp="$venv/.requirements"
if ! cmp -s "$root/interop/requirements.txt" "$stamp" 2>/dev/null; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --require-virtualenv \
        -r "$root/interop/requirements.txt"
    cp "$root/interop/requirements.txt" "$stamp"
fi
"$venv/bin/python" -m pip check -q --disable-pip-version-check >/dev/null

cargo build -q --bin creditproof
bin="$target/debug/creditproof"

work="$(mktemp -d "${TMPDIR:-/tmp}/creditproof-interop.XXXXXX")"
trap 'rm -rf "$work"' EXIT

status=0
"$venv/bin/python" "$root/interop/creditproof_to_python.py" --bin "$bin" --work "$work" || status=1
"$venv/bin/python" "$root/interop/python_to_creditproof.py" --bin "$bin" --work "$work" || status=1
exit "$status"
