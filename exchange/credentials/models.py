"""The signing keys and the credential issued for each honour."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exchange.db import Base, utcnow
from exchange.rewards.models import Award


class SigningKey(Base):
    """An Ed25519 key of the institution's DID. The newest unretired key signs; every
    key stays published in the DID document, so what it signed keeps verifying after a
    rotation. The private half is stored encrypted with a key derived from
    ``SECRET_KEY`` (None for a key read from the file ``EXCHANGE_SIGNING_KEY`` names:
    only its public half is kept here, to stay published)."""

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The JWK thumbprint (RFC 7638) of the public key: the fragment of its DID URL.
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    public_jwk: Mapped[str] = mapped_column(Text)
    private_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class AwardCredential(Base):
    """The OpenBadgeCredential of one issued honour, signed once when it was issued
    (what was issued stays byte for byte what was issued), and its bit in the
    revocation status list: list ``status_list``, position ``status_index``."""

    __tablename__ = "award_credential"
    __table_args__ = (
        UniqueConstraint("status_list", "status_index", name="uq_award_credential_status"),
    )

    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), primary_key=True)
    credential_id: Mapped[str] = mapped_column(String(64), unique=True)  # urn:uuid:…, the jti
    status_list: Mapped[int]
    status_index: Mapped[int]
    signing_key_id: Mapped[int] = mapped_column(ForeignKey("signing_key.id"))
    token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    award: Mapped[Award] = relationship()
