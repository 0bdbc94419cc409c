# Shared by interop/oid4vci/run.sh and interop/oid4vp/run.sh (sourced, not
# run): the creditproof binary, Node.js and the pinned npm packages, a work
# directory cleaned up on exit with every service started, and `start`, which
# runs a creditproof service on a free loopback port.
#
# The caller sets `tag` (its name in messages), `here` (its package
# directory) and `keep` (non-empty: keep the work directory), then runs
# `interop_init "$@"`.

# interop_init [PATH-TO-creditproof]: sets $root, $bin and $work.
interop_init() {
    root="$(cd "$here/../.." && pwd)"
    if [ $# -ge 1 ]; then
        bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    else
        local target="${CARGO_TARGET_DIR:-$root/target}"
        case "$target" in /*) ;; *) target="$root/$target" ;; esac
        (cd "$root" && cargo build -q --bin creditproof)
        bin="$target/debug/creditproof"
    fi
    [ -x "$bin" ] || { echo "interop $tag: no creditproof binary at $bin" >&2; exit 2; }

    local node_major
    node_major="$(node -p 'process.versions.node.split(".")[0]')"
    if [ "$node_major" -lt 20 ]; then
        echo "interop $tag: Node.js 20 or later needed, found $(node --version)" >&2
        exit 2
    fi

    # Exactly the pinned packages (package-lock.json), reinstalled when it changes.
    local stamp="$here/node_modules/.creditproof-lock"
    if ! cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null; then
        (cd "$here" && timeout 300 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$here/package-lock.json" "$stamp"
    fi

    work="$(mktemp -d "${TMPDIR:-/tmp}/creditproof-$tag.XXXXXX")"
    pids=()
    trap interop_cleanup EXIT
    trap 'exit 130' INT TERM
}

interop_cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$keep" ]; then
        echo "interop $tag: kept $work" >&2
    else
        rm -rf "$work"
    fi
}

cli() { timeout 60 "$bin" "$@"; }

free_port() {
    node -e 'const s = require("node:net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

# The last lines of every service log, on stderr.
logs() {
    for f in "$work"/*.log; do
        [ -f "$f" ] || continue
        echo "--- $(basename "$f")" >&2
        tail -n 20 "$f" >&2
    done
}

# start NAME CMD...: a service on a free loopback port ($port, retried when
# taken in between); sets $url. CMD may use {port} and {url}. For `issuer`,
# a fresh issuer directory named for that URL is made first ($dir).
start() {
    local name="$1"
    shift
    url=""
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        local u="http://127.0.0.1:$port"
        local args=()
        for a in "$@"; do a="${a//\{port\}/$port}"; args+=("${a//\{url\}/$u}"); done
        if [ "$name" = issuer ]; then
            dir="$work/bureau-$attempt"
            cli issuer init --iss "$u" --dir "$dir" >/dev/null
            args+=(--dir "$dir")
        fi
        "$bin" "${args[@]}" >"$work/$name-$attempt.out" 2>"$work/$name-$attempt.log" &
        local pid=$!
        for _ in $(seq 1 300); do # 30 s
            grep -q '^listening on http://' "$work/$name-$attempt.out" 2>/dev/null && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if grep -q "^listening on $u" "$work/$name-$attempt.out" 2>/dev/null; then
            pids+=("$pid")
            url="$u"
            return 0
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "interop $tag: $name did not start" >&2
    logs
    exit 1
}
