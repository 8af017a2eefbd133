"""What an Open Badges 3.0 credential of an honour says, the institution's DID and DID
document, and the status list credential: plain dictionaries built from plain facts.
Pure: standard library only, so every field is tested without an app.

References: Open Badges 3.0 (1EdTech) §4 (data model), §8.2 (VC-JWT); Verifiable
Credentials Data Model 2.0; did:web method; Bitstring Status List v1.0.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWK_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
STATUS_PURPOSE = "revocation"

JSON = dict[str, Any]


@dataclass(frozen=True)
class HonourFacts:
    """One issued honour as its credential states it."""

    credential_id: str  # urn:uuid:…
    subject_id: str  # urn:uuid:…, the holder in this credential only
    issued_at: datetime  # UTC
    holder_name: str
    holder_email: str
    salt: str
    award_name: str
    award_name_zh: str
    criteria: str  # in English, e.g. "At least 40 approved practice hours in 2025-2026 at …"
    criteria_zh: str
    certificate_number: str
    period: str
    institution: str
    department: str | None  # None: the college round's own honour
    department_code: str | None
    achievement_id: str
    verify_url: str
    status_list_url: str
    status_index: int


def did_web(base_url: str) -> str:
    """The institution's ``did:web`` from its base URL: the host (a port written as
    ``%3A``) and any path, its slashes as colons (did:web §3.2)."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        raise ValueError(f"no host in {base_url!r}")
    host = parts.hostname + (f"%3A{parts.port}" if parts.port else "")
    path = [quote(p, safe="") for p in parts.path.strip("/").split("/") if p]
    return ":".join(["did", "web", host, *path])


def did_document_url(base_url: str) -> str:
    """Where a did:web resolver reads the document: ``/.well-known/did.json`` at the
    host's root, or ``<path>/did.json`` below a path (did:web §3.2)."""
    parts = urlsplit(base_url)
    root = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.strip("/")
    return f"{root}/{path}/did.json" if path else f"{root}/.well-known/did.json"


def key_url(did: str, kid: str) -> str:
    return f"{did}#{kid}"


def achievement_id(base_url: str, period: str, rule_code: str) -> str:
    """A stable identifier of the rule of one period as an achievement."""
    return "urn:uuid:" + str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/rules/{period}/{rule_code}")
    )


def identity_hash(email: str, salt: str) -> str:
    """The holder's e-mail as OB 3.0 IdentityObject hashes it: ``sha256$`` and the hex
    SHA-256 of the address (lower case, trimmed) followed by the salt."""
    normalised = email.strip().lower()
    return "sha256$" + hashlib.sha256((normalised + salt).encode("utf-8")).hexdigest()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _profile(did: str, facts: HonourFacts, base_url: str) -> JSON:
    return {"id": did, "type": ["Profile"], "name": facts.institution, "url": base_url}


def _department(did: str, facts: HonourFacts, base_url: str) -> JSON:
    """The issuing department as a profile of the institution's; the college itself for
    a college round."""
    if facts.department is None:
        return _profile(did, facts, base_url)
    return {
        "id": f"{did}#department-{facts.department_code}",
        "type": ["Profile"],
        "name": facts.department,
        "parentOrg": {"id": did, "type": ["Profile"], "name": facts.institution},
    }


def honour_credential(facts: HonourFacts, *, did: str, base_url: str) -> JSON:
    """The ``OpenBadgeCredential`` of an honour. Nothing of the holder but their name
    and a salted hash of their e-mail; the names and the criteria in English and
    Chinese; the certificate number and the issuing department; a revocation entry in
    the status list."""
    issuer_department = _department(did, facts, base_url)
    description = facts.award_name + (f" / {facts.award_name_zh}" if facts.award_name_zh else "")
    achievement: JSON = {
        "id": facts.achievement_id,
        "type": ["Achievement"],
        "achievementType": "Award",
        "name": facts.award_name,
        "description": description,
        "criteria": {"narrative": f"{facts.criteria}\n\n{facts.criteria_zh}".strip()},
        "creator": issuer_department,
        "inLanguage": "en",
        # The Chinese name, as the same achievement in another language (OB 3.0 Related).
        "related": [
            {
                "id": f"{facts.achievement_id}#zh-Hans",
                "type": ["Related"],
                "inLanguage": "zh-Hans",
                "name": facts.award_name_zh or facts.award_name,
            }
        ],
    }
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": facts.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": facts.award_name,
        "description": f"{description} — {facts.period}, {facts.certificate_number}",
        "issuer": _profile(did, facts, base_url),
        "validFrom": iso(facts.issued_at),
        "credentialSubject": {
            "id": facts.subject_id,
            "type": ["AchievementSubject"],
            "name": facts.holder_name,
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": identity_hash(facts.holder_email, facts.salt),
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": facts.salt,
                }
            ],
            "achievement": achievement,
            "source": issuer_department,
            "term": facts.period,
        },
        "evidence": [
            {
                "id": facts.verify_url,
                "type": ["Evidence"],
                "name": f"Certificate {facts.certificate_number}",
                "narrative": f"Certificate No. {facts.certificate_number} ({facts.period}), "
                "publicly checked at this address.",
            }
        ],
        "credentialStatus": status_entry(facts.status_list_url, facts.status_index),
    }


def status_entry(list_url: str, index: int) -> JSON:
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": STATUS_PURPOSE,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(list_url: str, encoded_list: str, *, did: str, now: datetime) -> JSON:
    """The ``BitstringStatusListCredential`` of one list, as of ``now``."""
    return {
        "@context": [VC_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": did,
        "validFrom": iso(now),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": STATUS_PURPOSE,
            "encodedList": encoded_list,
        },
    }


def jwt_claims(credential: JSON) -> JSON:
    """The VC-JWT payload (OB 3.0 §8.2.4): the credential itself, plus the registered
    claims it maps to: ``iss`` the issuer's id, ``nbf`` its validFrom, ``jti`` its id,
    ``sub`` its subject's id (``exp`` would be its validUntil; ours have none)."""
    issuer = credential["issuer"]
    claims = dict(credential)
    claims["iss"] = issuer["id"] if isinstance(issuer, dict) else issuer
    claims["nbf"] = int(
        datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00")).timestamp()
    )
    claims["jti"] = credential["id"]
    subject = credential.get("credentialSubject") or {}
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    return claims


def did_document(did: str, public_jwks: list[tuple[str, JSON]]) -> JSON:
    """The DID document: every key ever used (newest first), each a ``JsonWebKey2020``
    verification method allowed to assert credentials."""
    methods = [
        {"id": key_url(did, kid), "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
        for kid, jwk in public_jwks
    ]
    references = [method["id"] for method in methods]
    return {
        "@context": [DID_CONTEXT, JWK_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": references,
        "authentication": references,
    }
