"""The institution's signing keys: made on first need or by ``flask keys rotate``,
stored so that every app server signs with the same one.

In the database (the default) the private key is encrypted with Fernet
(cryptography) under a key derived from ``SECRET_KEY`` by HKDF; a key encrypted
under one of ``SECRET_KEY_FALLBACKS`` still opens, so rotating ``SECRET_KEY`` keeps
the signing key (run ``keys rotate`` afterwards to re-encrypt under the new one).
Or ``EXCHANGE_SIGNING_KEY`` names a PEM file (PKCS#8 Ed25519) that every server
reads; its public half is still recorded here, to stay published after the file
is replaced.

Retired keys keep their public half in the DID document: credentials they signed
keep verifying.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from joserfc.jwk import OKPKey
from sqlalchemy import select

from exchange.credentials import vcjwt
from exchange.credentials.models import SigningKey
from exchange.db import utcnow
from exchange.errors import DomainError
from exchange.extensions import db
from exchange.i18n import _l
from exchange.signing import signing_keys

HKDF_INFO = b"exchange credential signing key"


class KeyUnavailable(DomainError):
    """The signing key cannot be read: a wrong SECRET_KEY, or a bad key file. People are
    told that credentials cannot be signed now (503: nothing of theirs is wrong, and
    nothing is changed); ``reason`` says why, for the log and the command line."""

    status = 503
    code = "unavailable"
    default_message: Any = _l(
        "Credentials cannot be signed at the moment: the institution's signing key cannot "
        "be opened. Nothing was changed. Please tell an administrator."
    )

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
        current_app.logger.error("Credential signing key unavailable: %s", reason)

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class Signer:
    row: SigningKey
    key: OKPKey


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _box() -> MultiFernet:
    """Encrypts under SECRET_KEY; also opens what a fallback key encrypted."""
    # The newest first: MultiFernet encrypts with its first key.
    return MultiFernet([_fernet(secret) for secret in reversed(signing_keys())])


def _raw_private(key: OKPKey) -> bytes:
    return key.private_key.private_bytes_raw()  # type: ignore[union-attr]


def _from_raw(raw: bytes) -> OKPKey:
    return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(raw))


def _file_key(path: str) -> OKPKey:
    try:
        loaded = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise KeyUnavailable(f"EXCHANGE_SIGNING_KEY {path}: {error}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyUnavailable(f"EXCHANGE_SIGNING_KEY {path}: not an Ed25519 private key")
    return OKPKey.import_key(loaded)


def _record(key: OKPKey, *, private: bool) -> SigningKey:
    kid = vcjwt.thumbprint(key)
    row = db.session.execute(select(SigningKey).where(SigningKey.kid == kid)).scalar_one_or_none()
    if row is None:
        row = SigningKey(
            kid=kid,
            public_jwk=json.dumps(vcjwt.public_jwk(key), sort_keys=True),
            private_key=_box().encrypt(_raw_private(key)).decode("ascii") if private else None,
            created_at=utcnow(),
        )
        db.session.add(row)
        db.session.flush()
    return row


def _open(row: SigningKey) -> OKPKey:
    if row.private_key is None:
        raise KeyUnavailable(f"key {row.kid} has no private half here")
    try:
        return _from_raw(_box().decrypt(row.private_key.encode("ascii")))
    except InvalidToken:
        raise KeyUnavailable(
            "The signing key cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS."
        ) from None


def _newest_active() -> SigningKey | None:
    return db.session.execute(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None), SigningKey.private_key.is_not(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def current_signer() -> Signer:
    """The key that signs now, made on first need (flushed, committed by the caller)."""
    path = str(current_app.config.get("EXCHANGE_SIGNING_KEY") or "")
    if path:
        key = _file_key(path)
        return Signer(_record(key, private=False), key)
    row = _newest_active()
    if row is None:
        key = vcjwt.generate_key()
        return Signer(_record(key, private=True), key)
    return Signer(row, _open(row))


def rotate() -> SigningKey:
    """A new key signs from now on; the earlier ones are retired (still published).
    With a key file, the file is the key: replace it instead."""
    if current_app.config.get("EXCHANGE_SIGNING_KEY"):
        raise KeyUnavailable(
            "EXCHANGE_SIGNING_KEY names the signing key file: replace that file to rotate."
        )
    now = utcnow()
    for row in db.session.execute(
        select(SigningKey).where(SigningKey.retired_at.is_(None))
    ).scalars():
        row.retired_at = now
    row = _record(vcjwt.generate_key(), private=True)
    db.session.flush()
    return row


def published() -> list[SigningKey]:
    """Every key ever used, newest first."""
    return list(db.session.execute(select(SigningKey).order_by(SigningKey.id.desc())).scalars())


def public_jwk(row: SigningKey) -> dict[str, Any]:
    loaded = json.loads(row.public_jwk)
    return dict(loaded)
