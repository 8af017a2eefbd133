"""VC-JWT signing and checking (Open Badges 3.0 §8.2) with joserfc: compact JWS, EdDSA
over Ed25519, the JOSE header naming the key by ``kid`` (its DID URL) and carrying the
public ``jwk``. Nothing here is hand-rolled: joserfc signs and verifies; this module
only says which algorithm and which key. No Flask, no SQLAlchemy.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jws import JWSRegistry

# "EdDSA" (RFC 8037) is what Open Badges 3.0 verifiers and DID libraries accept for
# Ed25519; RFC 9864 deprecates it only because it may also mean Ed448, which no key
# of ours is. joserfc warns about it on every use: this registry keeps the algorithm
# without the warning. "Ed25519" (RFC 9864's name) is accepted when checking.
SIGNING_ALG = "EdDSA"
ACCEPTED_ALGS = ("EdDSA", "Ed25519")
TYP = "JWT"  # OB 3.0 §8.2: the JOSE header's typ, when present, is "JWT"
MAX_TOKEN = 32 * 1024


def _quiet(name: str) -> Any:
    algorithm = copy.copy(JWSRegistry.algorithms[name])
    algorithm.security_warning = None
    return algorithm


class _Registry(JWSRegistry):
    algorithms = {**JWSRegistry.algorithms, **{name: _quiet(name) for name in ACCEPTED_ALGS}}


REGISTRY = _Registry(algorithms=list(ACCEPTED_ALGS))


class Unreadable(ValueError):
    """Not a compact JWS at all."""


class BadSignature(ValueError):
    """A JWS whose signature does not verify with the key it names, or that uses an
    algorithm we do not accept (``none`` included)."""


@dataclass(frozen=True)
class Decoded:
    """A token's parts before its signature is checked: only to find the key."""

    header: dict[str, Any]
    claims: dict[str, Any]


def generate_key() -> OKPKey:
    return OKPKey.generate_key("Ed25519")


def public_jwk(key: OKPKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def thumbprint(key: OKPKey) -> str:
    return str(key.thumbprint())


def sign(claims: dict[str, Any], key: OKPKey, kid: str) -> str:
    header = {"alg": SIGNING_ALG, "typ": TYP, "kid": kid, "jwk": public_jwk(key)}
    return str(jwt.encode(header, claims, key, algorithms=[SIGNING_ALG], registry=REGISTRY))


def peek(token: str) -> Decoded:
    """The header and claims of a compact JWS, unverified."""
    token = token.strip()
    if len(token) > MAX_TOKEN or token.count(".") != 2:
        raise Unreadable("not a compact JWT")
    parts = token.split(".")
    try:
        header, claims = (
            json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            for part in parts[:2]
        )
    except (ValueError, UnicodeDecodeError):
        raise Unreadable("not a compact JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise Unreadable("not a compact JWT")
    return Decoded(header=header, claims=claims)


def verify(token: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """The claims of ``token`` once its signature verifies with the public ``jwk``."""
    try:
        key = OKPKey.import_key(jwk)
        verified = jwt.decode(token.strip(), key, algorithms=list(ACCEPTED_ALGS), registry=REGISTRY)
    except (JoseError, ValueError, TypeError) as error:
        raise BadSignature(str(error)) from None
    return dict(verified.claims)
