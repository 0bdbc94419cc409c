#!/usr/bin/env python3
"""Keeps the crate's layout true: which layer may import which, and no cycles.

Reads every `use` and every inline `crate::`/`super::` path of the library
(src/, without src/bin and without test code), resolves each to the module it
names, and fails when

  1. a role (issuer, holder, verifier) imports another role;
  2. a layer imports a layer above it (the table ALLOWED below);
  3. two modules import each other, directly or around a loop (a parent and
     its own child are exempt: `mod.rs` dispatching to its children, which
     use its helpers, is the ordinary Rust shape).

Usage: python3 .ci/layers.py [SRC_DIR]      check the tree (default: src)
       python3 .ci/layers.py --self-test    prove the checker catches each rule
"""

import re
import sys
import tempfile
from pathlib import Path

# Who may import whom. `error` is the one aggregating `Error` at the crate
# root: every layer returns it, and it names the policy and status-list
# errors of the layers it aggregates. A layer not listed here is an error
# until it is given its place (the network layer lands as `protocol` above
# the roles and `server` above that).
ALLOWED = {
    "format": {"format", "error"},
    "error": {"error", "format", "profile"},
    "profile": {"profile", "format", "error"},
    "issuer": {"issuer", "profile", "format", "error"},
    "holder": {"holder", "profile", "format", "error"},
    "verifier": {"verifier", "profile", "format", "error"},
    "protocol": {"protocol", "issuer", "holder", "verifier", "profile", "format", "error"},
    "server": {"server", "protocol", "issuer", "holder", "verifier", "profile", "format", "error"},
}
ROLES = {"issuer", "holder", "verifier"}
EXTERNAL_ROOTS = {"std", "core", "alloc"}


def module_of(path: Path, src: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return "::".join(parts)


def strip_code(text: str) -> str:
    """Drops comments, string literals and inline test modules."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    if cut:
        text = text[: cut.start()]
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return text


def expand_use_tree(tree: str):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as segment lists)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)

    def parse(s, prefix):
        out = []
        depth, start, items = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                items.append(s[start:i])
                start = i + 1
        items.append(s[start:])
        for item in items:
            if not item:
                continue
            if "{" in item:
                head, rest = item.split("{", 1)
                head_segs = [x for x in head.split("::") if x]
                out.extend(parse(rest[: rest.rindex("}")], prefix + head_segs))
            else:
                out.append(prefix + [x for x in item.split("::") if x])
        return out

    return parse(tree, [])


def paths_in(text: str):
    """Every path a file imports: `use` trees and inline crate/super paths."""
    found = []
    for m in re.finditer(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", text):
        found.extend(expand_use_tree(m.group(1)))
    body = re.sub(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", text)
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", body):
        found.append(m.group(1).split("::"))
    return found


def resolve(segs, here, modules, aliases):
    """The known module a path names, or None for an external crate."""
    if not segs:
        return None
    cur = here.split("::") if here else []
    segs = list(segs)
    if segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        base = cur
        while segs and segs[0] in ("super", "self"):
            if segs.pop(0) == "super":
                base = base[:-1]
    elif segs[0] in EXTERNAL_ROOTS:
        return None
    elif "::".join(cur + [segs[0]]) in modules:
        base = cur
    else:
        return None
    full = base + segs
    if not base and full and full[0] in aliases:
        full = aliases[full[0]].split("::") + full[1:]
    for n in range(len(full), -1, -1):
        name = "::".join(full[:n])
        if name in modules:
            return name
    return None


def root_aliases(lib_text: str, modules):
    """Names the crate root re-exports -> the module they come from."""
    aliases = {}
    text = strip_code(lib_text)
    for m in re.finditer(r"\bpub\s+use\s+([^;]+);", text):
        for segs in expand_use_tree(m.group(1)):
            name = segs[-1]
            full = "::".join(segs)
            aliases[name] = full if full in modules else "::".join(segs[:-1])
    return aliases


def layer(module: str) -> str:
    return module.split("::")[0] if module else ""


def related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "::") or b.startswith(a + "::") or not a or not b


def check(src: Path):
    files = [p for p in src.rglob("*.rs") if "bin" not in p.relative_to(src).parts and p.name != "tests.rs"]
    modules = {module_of(p, src): p for p in files}
    lib = src / "lib.rs"
    aliases = root_aliases(lib.read_text(), modules) if lib.exists() else {}
    edges, problems = {}, []
    for mod, path in sorted(modules.items()):
        if not mod:
            continue  # lib.rs only declares and re-exports
        text = strip_code(path.read_text())
        for segs in paths_in(text):
            target = resolve(segs, mod, modules, aliases)
            if target is None or target == mod:
                continue
            edges.setdefault(mod, set()).add(target)
    for mod in sorted(edges):
        for target in sorted(edges[mod]):
            if not target:
                problems.append(f"{mod} imports through the crate root without a module path")
                continue
            a, b = layer(mod), layer(target)
            if a in ROLES and b in ROLES and a != b:
                problems.append(f"role imports role: {mod} -> {target}")
            elif a not in ALLOWED:
                problems.append(f"{mod}: layer `{a}` has no place in the layer table")
            elif b not in ALLOWED[a]:
                problems.append(f"layer `{a}` may not import layer `{b}`: {mod} -> {target}")
    # Cycles between modules that are not parent and child (Tarjan).
    graph = {m: {t for t in ts if not related(m, t)} for m, ts in edges.items()}
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(sorted(scc))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    for scc in sccs:
        problems.append("import cycle: " + " <-> ".join(scc))
    n_edges = sum(len(t) for t in edges.values())
    return problems, len(modules), n_edges


def self_test():
    """Each rule, broken on purpose in a small tree, must be reported."""
    cases = {
        "role imports role": {"holder/wallet.rs": "use crate::issuer::PERKS;\n", "issuer/mod.rs": ""},
        "may not import layer": {"profile/request.rs": "use crate::verifier::Verifier;\n", "verifier/mod.rs": ""},
        "import cycle": {
            "format/a.rs": "use crate::format::b::B;\n",
            "format/b.rs": "pub(crate) fn f() { crate::format::a::g() }\n",
        },
        "role imports role: verifier -> holder::wallet": {
            "lib.rs": "pub use holder::wallet::Wallet;\n",
            "holder/wallet.rs": "",
            "verifier/mod.rs": "use crate::Wallet;\n",
        },
    }
    clean = {
        "format/a.rs": "use crate::error::Error;\n// use crate::issuer::X; (a comment)\n",
        "error.rs": "",
        "issuer/mod.rs": 'mod batch;\nconst S: &str = "crate::holder::x";\n',
        "issuer/batch.rs": "use super::Issuer;\nuse crate::profile::{request::{A, B}, status};\n",
        "profile/request.rs": "",
        "profile/status.rs": "",
        "holder/mod.rs": "#[cfg(test)]\nmod tests {\n    use crate::issuer::Issuer;\n}\n",
    }
    failures = []
    for name, tree in list(cases.items()) + [("clean", clean)]:
        with tempfile.TemporaryDirectory() as d:
            for rel, text in tree.items():
                p = Path(d) / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
            problems, _, _ = check(Path(d))
            if name == "clean" and problems:
                failures.append(f"clean tree reported: {problems}")
            elif name != "clean" and not any(name in p for p in problems):
                failures.append(f"`{name}` not caught (got {problems})")
    if failures:
        print("layers self-test FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"layers self-test: {len(cases)} broken trees caught, 1 clean tree passed")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    src = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    problems, n_modules, n_edges = check(src)
    if problems:
        print(f"layers: {len(problems)} problem(s) in {n_modules} modules:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"layers: {n_modules} modules, {n_edges} imports between them; no role imports another, "
          "no layer imports one above it, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
