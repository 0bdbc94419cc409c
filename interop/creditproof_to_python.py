"""Direction 1: presentations made by creditproof, verified by sd-jwt (Python).

For each key type (EdDSA/Ed25519 and ES256/P-256, issuer and holder alike)
creditproof issues a batch, the holder answers several verifier requests
(range predicates, perk predicates, plain disclosures), creditproof verifies
each presentation, and sd-jwt's SDJWTVerifier verifies the same bytes with
the issuer key taken from creditproof's issuer metadata by `kid` and the
nonce/aud taken from creditproof's request file. The claims sd-jwt adds by
disclosure must equal creditproof's `disclosed`; everything else sd-jwt
reports (`range`, `cnf`, `status`, ...) must be the signed payload unchanged
(the range commitments and the KB-JWT's `range_proofs` are ignored).
"""

import argparse
import json
import os
import sys
from importlib.metadata import version

from common import Cli, Failure, Verifier, fail, jwt_parts, key_from_metadata, say

CLAIMS = {
    "tier": "A",
    "score": 712,
    "score_scale": {"min": 350, "max": 950},
    "perks": {"no_deposit_rental": True, "express_security": True},
}

# (label, --disclose names, --predicate expressions)
REQUESTS = [
    ("range score>=650", [], ["score>=650"]),
    ("perk", [], ["perk:no_deposit_rental"]),
    ("plain disclosures", ["tier", "perks"], []),
    ("mixed", ["tier"], ["600<=score<=799", "perk:no_deposit_rental"]),
]

ALGS = {"ed25519": "EdDSA", "es256": "ES256"}


def one_alg(cli: Cli, work: str, alg: str):
    d = os.path.join(work, f"d1-{alg}")
    os.makedirs(d)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    iss = f"https://bureau-{alg}.example"
    alg_flag = [] if alg == "ed25519" else ["--alg", alg]
    cli.run("issuer", "init", "--iss", iss, "--dir", p("bureau"), *alg_flag)
    cli.run("issuer", "public", "--dir", p("bureau"), "--out", p("bureau.pub.json"))
    cli.run("holder", "init", "--wallet", p("wallet"))
    cli.run("holder", "keys", "--wallet", p("wallet"), "--count", len(REQUESTS), "--out", p("keys.json"), *alg_flag)
    with open(p("claims.json"), "w") as f:
        json.dump(CLAIMS, f)
    cli.run("issuer", "issue", "--dir", p("bureau"), "--keys", p("keys.json"), "--claims", p("claims.json"), "--out", p("batch.json"))
    cli.run("holder", "store", "--wallet", p("wallet"), "--batch", p("batch.json"))
    cli.run("issuer", "status-list", "--dir", p("bureau"), "--out-dir", p("lists"))
    lists = []
    for name in sorted(os.listdir(p("lists"))):
        lists += ["--status-list", os.path.join(p("lists"), name)]
    with open(p("bureau.pub.json")) as f:
        metadata = json.load(f)

    results = []
    for i, (label, disclose, predicates) in enumerate(REQUESTS):
        case = f"{ALGS[alg]} {label}"
        req, pres = p(f"req{i}.json"), p(f"pres{i}.txt")
        args = ["verifier", "request", "--aud", f"https://verifier-{i}.example", "--out", req]
        for n in disclose:
            args += ["--disclose", n]
        for pr in predicates:
            args += ["--predicate", pr]
        cli.run(*args)
        cli.run("holder", "present", "--wallet", p("wallet"), "--request", req, "--out", pres)
        verdict = json.loads(
            cli.run("verifier", "verify", "--trust", p("bureau.pub.json"), "--request", req, "--presentation", pres, *lists, ok=(0, 1)).stdout
        )
        try:
            results.append(compare(case, metadata, req, pres, verdict, alg, predicates))
        except Failure as e:
            fail(f"{case}: {e}")
            results.append(False)
        except Exception as e:  # sd-jwt raises ValueError, jwcrypto its own
            fail(f"{case}: sd-jwt refused the presentation: {type(e).__name__}: {e}")
            results.append(False)
    return results


def compare(case, metadata, req_file, pres_file, verdict, alg, predicates):
    with open(req_file) as f:
        req = json.load(f)
    with open(pres_file) as f:
        pres = f.read().strip()
    if not verdict.get("accepted"):
        raise Failure(f"creditproof rejected its own presentation: {verdict}")
    if verdict["proven"] != predicates:
        raise Failure(f"creditproof proved {verdict['proven']}, asked {predicates}")

    parts = pres.split("~")
    header, payload = jwt_parts(parts[0])
    kb_header, kb_payload = jwt_parts(parts[-1])
    if header.get("alg") != ALGS[alg] or kb_header.get("alg") != ALGS[alg]:
        raise Failure(f"expected {ALGS[alg]} tokens, got issuer {header.get('alg')}, KB {kb_header.get('alg')}")
    if "range" not in payload:
        raise Failure("no `range` claim in the credential: the extension is not exercised")
    if any(pr.startswith("score") or "<=score" in pr for pr in predicates) and "range_proofs" not in kb_payload:
        raise Failure("no `range_proofs` in the KB-JWT: the extension is not exercised")

    v = Verifier(pres, key_from_metadata(metadata), expected_aud=req["aud"], expected_nonce=req["nonce"])
    py = v.get_verified_payload()

    py_disclosed = {k: val for k, val in py.items() if k not in payload}
    # A `perk:NAME` predicate is answered by disclosing the `perks` object
    # (a recursive disclosure) with the one flag NAME inside; the verdict
    # lists it under `proven`, not `disclosed` (unless the request also
    # names `perks` with --disclose), so the flag is added back here.
    cp_disclosed = json.loads(json.dumps(verdict["disclosed"]))
    for pr in verdict["proven"]:
        if pr.startswith("perk:"):
            cp_disclosed.setdefault("perks", {}).setdefault(pr[len("perk:"):], True)
    if py_disclosed != cp_disclosed:
        raise Failure(
            f"disclosed: sd-jwt {json.dumps(py_disclosed, sort_keys=True)} != creditproof "
            f"{json.dumps(verdict['disclosed'], sort_keys=True)} + perks proven {verdict['proven']}"
        )
    visible = {k: val for k, val in payload.items() if k not in ("_sd", "_sd_alg")}
    py_visible = {k: val for k, val in py.items() if k in payload}
    if py_visible != visible:
        raise Failure("sd-jwt changed the always-visible claims (e.g. `range`)")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--algs", default="ed25519,es256")
    a = ap.parse_args()
    cli = Cli(a.bin)
    counts, ok = {}, 0
    for alg in a.algs.split(","):
        try:
            res = one_alg(cli, a.work, alg)
        except Failure as e:
            fail(f"{ALGS[alg]} setup: {e}")
            res = [False] * len(REQUESTS)
        counts[ALGS[alg]] = len(res)
        ok += sum(res)
    total = sum(counts.values())
    by_alg = ", ".join(f"{n} {alg}" for alg, n in counts.items())
    say(f"interop: python sd-jwt {version('sd-jwt')} verified {ok}/{total} creditproof presentations ({by_alg})")
    sys.exit(0 if ok == total else 1)


if __name__ == "__main__":
    main()
