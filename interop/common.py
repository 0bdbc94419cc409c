"""Helpers shared by both interop directions: running the creditproof CLI,
base64url, and the one place where sd-jwt 0.10.4 needs help (EdDSA KB-JWTs)."""

import base64
import json
import subprocess
import sys

import sd_jwt.verifier
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier


class Failure(Exception):
    """A mismatch or an unexpected outcome: the run must fail."""


def b64u_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode("ascii").rstrip("=")


def jwt_parts(jwt: str):
    """(header, payload) of a compact JWS, decoded without verification."""
    h, p, _ = jwt.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


class Cli:
    """The creditproof binary. Every call must exit with an expected code."""

    def __init__(self, binary: str):
        self.binary = binary

    def run(self, *args, ok=(0,)):
        p = subprocess.run(
            [self.binary, *map(str, args)], capture_output=True, text=True, timeout=120
        )
        if p.returncode not in ok:
            raise Failure(
                f"creditproof {' '.join(map(str, args))} exited {p.returncode}\n"
                f"stdout: {p.stdout}\nstderr: {p.stderr}"
            )
        return p


# sd-jwt 0.10.4's SDJWTVerifier verifies the KB-JWT with a fixed alg:
# `_verify_key_binding_jwt(..., sign_alg=None)` falls back to
# DEFAULT_SIGNING_ALG ("ES256") and `__init__` never passes `sign_alg`, so
# jwcrypto refuses any EdDSA KB-JWT with '"alg" mismatch'. The method takes a
# `sign_alg` parameter; we supply it, derived from the holder key in
# `cnf.jwk` (never from the KB-JWT's own header). Nothing else is changed:
# the library still does every check itself.
CNF_ALG = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}


class Verifier(SDJWTVerifier):
    def _verify_key_binding_jwt(self, expected_aud=None, expected_nonce=None, sign_alg=None):
        jwk = (self._holder_public_key_payload or {}).get("jwk") or {}
        alg = CNF_ALG.get((jwk.get("kty"), jwk.get("crv")), sd_jwt.verifier.DEFAULT_SIGNING_ALG)
        return super()._verify_key_binding_jwt(expected_aud, expected_nonce, sign_alg=alg)


def key_from_metadata(metadata: dict):
    """An sd-jwt `cb_get_issuer_key`: the key of `metadata` named by the
    JWT header's `kid`, only for the metadata's own issuer."""

    def cb(iss, header):
        if iss != metadata["issuer"]:
            raise Failure(f"unexpected issuer {iss!r}")
        kid = header.get("kid")
        keys = [k for k in metadata["jwks"]["keys"] if k.get("kid") == kid]
        if len(keys) != 1:
            raise Failure(f"kid {kid!r}: {len(keys)} keys in the issuer metadata")
        return JWK(**keys[0])

    return cb


def say(msg: str):
    print(msg, flush=True)


def fail(msg: str):
    print(f"interop: FAIL: {msg}", file=sys.stderr, flush=True)
