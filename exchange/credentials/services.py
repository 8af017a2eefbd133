"""Issuing, serving and checking the Open Badges 3.0 credentials of honours.

Signing happens once, when the round is finalized (``awards_issued``): the stored
VC-JWT is what was issued, byte for byte, whatever changes later (a renamed rule, a
rotated key). An honour issued before credentials existed gets its credential on
first request. Revocation needs no signing: the status list is made from the awards'
statuses when it is asked for, so a revoked award's bit is set from that moment on.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from exchange import signals
from exchange.credentials import baking, bitstring, document, keys, vcjwt
from exchange.credentials.models import AwardCredential
from exchange.db import utcnow
from exchange.errors import Conflict, NotFound
from exchange.extensions import db
from exchange.links import base_url, external_url
from exchange.rewards import rules as engine
from exchange.rewards.models import Award, AwardStatus, RewardRound
from exchange.rewards.services import CertificateCheck, certificate_check

MEDIA_TYPE = "application/vc+jwt"


def issuer_did() -> str:
    return document.did_web(base_url())


def status_list_url(number: int) -> str:
    return external_url("credentials.status_list", number=number)


# --- issuing ----------------------------------------------------------------------------


def _criteria(award: Award) -> tuple[str, str]:
    """The rule in words, in English and Chinese."""
    rule, reward_round = award.rule, award.round
    hours = f"{rule.threshold_minutes / 60:g}"
    where = reward_round.department.name if reward_round.department else None
    institution = str(current_app.config["EXCHANGE_INSTITUTION"])
    period = reward_round.period.name
    if rule.audience == engine.Audience.TEACHER:
        what, what_zh = "practice", "企业实践"
    else:
        what, what_zh = "teaching", "课堂授课"
    place = f"at {where}, {institution}" if where else f"across {institution}"
    place_zh = f"{institution} {where}" if where else f"{institution}全校"
    return (
        f"At least {hours} approved {what} hours in {period} {place}.",
        f"{period} 学年在{place_zh}经审核的{what_zh}学时不少于 {hours} 小时。",
    )


# Positions are drawn at random (the Bitstring Status List's advice: a position then
# says nothing of when or for whom a credential was issued), in the newest list until
# half of it is taken, so that a draw rarely hits a taken one.
FILL = bitstring.LIST_SIZE // 2
DRAWS = 16


def _current_list() -> int:
    """The list new credentials draw their positions from."""
    last = db.session.execute(
        select(AwardCredential.status_list, func.count())
        .group_by(AwardCredential.status_list)
        .order_by(AwardCredential.status_list.desc())
        .limit(1)
    ).first()
    if last is None:
        return 1
    number, taken = last
    return int(number) + 1 if taken >= FILL else int(number)


def is_credentialed(award: Award) -> bool:
    """Issued (or since revoked) honours have a credential; bonuses have none."""
    return (
        award.rule.kind == engine.RuleKind.HONOUR
        and award.status in (AwardStatus.ISSUED, AwardStatus.REVOKED)
        and award.certificate_number is not None
    )


def issue_credential(award: Award) -> AwardCredential:
    """Sign the honour's credential and give it its bit in the status list (flushed;
    committed with the caller's unit of work)."""
    check = certificate_check(award)
    signer = keys.current_signer()
    number = _current_list()
    for _ in range(DRAWS):
        index = secrets.randbelow(bitstring.LIST_SIZE)
        issued = _signed(award, check, signer, number, index)
        try:
            # A position taken meanwhile (by this round or by another finalized at the
            # same moment) undoes only this attempt: draw again.
            with db.session.begin_nested():
                db.session.add(issued)
        except IntegrityError:
            continue
        return issued
    raise Conflict()


def _signed(
    award: Award, check: CertificateCheck, signer: keys.Signer, number: int, index: int
) -> AwardCredential:
    """The award's credential at position ``index`` of list ``number``, signed."""
    base, did = base_url(), issuer_did()
    reward_round: RewardRound = award.round
    criteria, criteria_zh = _criteria(award)
    facts = document.HonourFacts(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        subject_id=f"urn:uuid:{uuid.uuid4()}",
        issued_at=award.issued_at or utcnow(),
        holder_name=check.holder_name,
        holder_email=award.holder.email,
        salt=secrets.token_hex(16),
        award_name=check.award_name,
        award_name_zh=check.award_name_zh,
        criteria=criteria,
        criteria_zh=criteria_zh,
        certificate_number=check.certificate_number,
        period=check.period,
        institution=check.institution,
        department=check.department,
        department_code=reward_round.department.code if reward_round.department else None,
        achievement_id=document.achievement_id(base, check.period, award.rule.code),
        verify_url=external_url("rewards.verify", code=award.verification_code),
        status_list_url=status_list_url(number),
        status_index=index,
    )
    credential = document.honour_credential(facts, did=did, base_url=base)
    token = vcjwt.sign(
        document.jwt_claims(credential), signer.key, document.key_url(did, signer.row.kid)
    )
    return AwardCredential(
        award_id=award.id,
        credential_id=facts.credential_id,
        status_list=number,
        status_index=index,
        signing_key_id=signer.row.id,
        token=token,
        created_at=utcnow(),
    )


@signals.awards_issued.connect
def _issue_credentials(reward_round: RewardRound, awards: list[Award], **_: Any) -> None:
    for award in awards:
        if is_credentialed(award):
            issue_credential(award)


def credential_of(award: Award) -> AwardCredential:
    """The award's credential; one issued before credentials existed gets it now."""
    if not is_credentialed(award):
        raise NotFound()
    stored = db.session.get(AwardCredential, award.id)
    return stored or issue_credential(award)


def badge_image(award: Award, stored: AwardCredential, kind: str) -> tuple[bytes | str, str]:
    """The badge picture with the credential baked in: (body, media type), SVG or PNG."""
    number = award.certificate_number or ""
    if kind == "svg":
        picture = baking.badge_svg(
            award_name=award.rule.name,
            award_name_zh=award.rule.name_zh,
            number=number,
            institution=str(current_app.config["EXCHANGE_INSTITUTION"]),
        )
        return baking.bake_svg(picture, stored.token), "image/svg+xml"
    return baking.bake_png(baking.badge_png(number=number), stored.token), "image/png"


# --- the status list and the DID document -------------------------------------------------


def last_list() -> int:
    found = db.session.execute(select(func.max(AwardCredential.status_list))).scalar()
    return int(found or 1)


def revoked_positions(number: int) -> list[int]:
    return list(
        db.session.execute(
            select(AwardCredential.status_index)
            .join(Award, Award.id == AwardCredential.award_id)
            .where(AwardCredential.status_list == number, Award.status == AwardStatus.REVOKED)
        ).scalars()
    )


def status_list_token(number: int) -> str:
    """The signed status list credential of list ``number``, as of now."""
    if not 1 <= number <= last_list():
        raise NotFound()
    did = issuer_did()
    signer = keys.current_signer()
    credential = document.status_list_credential(
        status_list_url(number),
        bitstring.encode(revoked_positions(number)),
        did=did,
        now=utcnow(),
    )
    return vcjwt.sign(
        document.jwt_claims(credential), signer.key, document.key_url(did, signer.row.kid)
    )


def did_document() -> dict[str, Any]:
    if current_app.config.get("EXCHANGE_SIGNING_KEY") or not keys.published():
        keys.current_signer()  # the first key is made (or the file's recorded) on first need
    return document.did_document(
        issuer_did(), [(row.kid, keys.public_jwk(row)) for row in keys.published()]
    )


# --- checking a credential ------------------------------------------------------------------


class Outcome(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    FOREIGN = "foreign"  # signed, or claimed, by another issuer
    TAMPERED = "tampered"  # ours by its issuer, but the signature does not hold
    UNREADABLE = "unreadable"  # not a credential at all


@dataclass(frozen=True)
class CredentialCheck:
    outcome: Outcome
    check: CertificateCheck | None = None  # the certificate's facts, valid or revoked
    verify_url: str | None = None  # its public check


def check_token(token: str) -> CredentialCheck:
    """What a pasted or baked credential is worth here: only our own published keys are
    trusted (never the ``jwk`` the token carries), only EdDSA/Ed25519 (never ``none``)."""
    try:
        peeked = vcjwt.peek(token)
    except vcjwt.Unreadable:
        return CredentialCheck(Outcome.UNREADABLE)
    did = issuer_did()
    issuer = peeked.claims.get("iss")
    if issuer != did:
        return CredentialCheck(Outcome.FOREIGN)
    kid = peeked.header.get("kid")
    candidates = [
        row
        for row in keys.published()
        if not isinstance(kid, str) or kid in (row.kid, document.key_url(did, row.kid))
    ]
    claims = None
    for row in candidates:
        try:
            claims = vcjwt.verify(token, keys.public_jwk(row))
            break
        except vcjwt.BadSignature:
            continue
    if claims is None:
        return CredentialCheck(Outcome.TAMPERED)
    jti = claims.get("jti")
    stored = (
        db.session.execute(
            select(AwardCredential).where(AwardCredential.credential_id == jti)
        ).scalar_one_or_none()
        if isinstance(jti, str)
        else None
    )
    if stored is None:  # signed by us, but not a credential we issued (a status list …)
        return CredentialCheck(Outcome.TAMPERED)
    facts = certificate_check(stored.award)
    return CredentialCheck(
        Outcome.VALID if facts.valid else Outcome.REVOKED,
        facts,
        external_url("rewards.verify", code=stored.award.verification_code),
    )
