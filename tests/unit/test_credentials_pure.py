"""The pure parts of the credentials: the status list's bits, the credential's fields,
the did:web names and the badge baking — no app."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.credentials import baking, bitstring, document, vcjwt

# --- the bitstring ------------------------------------------------------------------------


@given(st.sets(st.integers(min_value=0, max_value=bitstring.LIST_SIZE - 1), max_size=50))
def test_a_list_decodes_to_the_bits_it_was_made_of(positions):
    bits = bitstring.decode(bitstring.encode(positions))
    assert len(bits) * 8 == bitstring.LIST_SIZE
    for position in list(positions)[:10]:
        assert bitstring.is_set(bits, position)
    assert sum(bin(byte).count("1") for byte in bits) == len(positions)


def test_position_zero_is_the_first_bit_of_the_first_byte():
    bits = bitstring.decode(bitstring.encode({0, 9}, size=16))
    assert bits == bytes([0b1000_0000, 0b0100_0000])


def test_an_empty_list_is_multibase_base64url_and_small():
    encoded = bitstring.encode(set())
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert "+" not in encoded
    assert "/" not in encoded
    assert len(encoded) < 300


@pytest.mark.parametrize("bad", ["", "zAAAA", "u!!!!", "uAAAA", "u" + "A" * 70_000])
def test_garbage_is_no_list(bad):
    with pytest.raises(bitstring.BadEncodedList):
        bitstring.decode(bad)


def test_positions_outside_the_list_are_refused():
    with pytest.raises(ValueError, match="outside"):
        bitstring.encode({bitstring.LIST_SIZE})
    with pytest.raises(IndexError):
        bitstring.is_set(b"\x00", 8)


# --- names and the credential ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "did", "where"),
    [
        ("https://college.edu", "did:web:college.edu", "https://college.edu/.well-known/did.json"),
        (
            "http://127.0.0.1:8123",
            "did:web:127.0.0.1%3A8123",
            "http://127.0.0.1:8123/.well-known/did.json",
        ),
        (
            "https://college.edu/exchange",
            "did:web:college.edu:exchange",
            "https://college.edu/exchange/did.json",
        ),
    ],
)
def test_did_web_follows_the_method(base, did, where):
    assert document.did_web(base) == did
    assert document.did_document_url(base) == where


FACTS = document.HonourFacts(
    credential_id="urn:uuid:11111111-1111-4111-8111-111111111111",
    subject_id="urn:uuid:22222222-2222-4222-8222-222222222222",
    issued_at=datetime(2026, 9, 1, 1, 30, tzinfo=UTC),
    holder_name="Li Na",
    holder_email="li.na@example.com",
    salt="pepper",
    award_name="Practice Certificate",
    award_name_zh="实践证书",
    criteria="At least 40 approved practice hours in 2025-2026 at Clinical Medicine, X.",
    criteria_zh="2025-2026 学年……不少于 40 小时。",
    certificate_number="2025-2026-CM-0007",
    period="2025-2026",
    institution="Exchange Medical College",
    department="Clinical Medicine",
    department_code="CM",
    achievement_id="urn:uuid:33333333-3333-4333-8333-333333333333",
    verify_url="https://college.edu/verify/abc",
    status_list_url="https://college.edu/credentials/status/1",
    status_index=7,
)


def test_the_credential_says_what_the_certificate_says_and_no_address():
    credential = document.honour_credential(
        FACTS, did="did:web:college.edu", base_url="https://college.edu"
    )
    assert credential["@context"] == [document.VC_CONTEXT, document.OB_CONTEXT]
    assert credential["validFrom"] == "2026-09-01T01:30:00Z"
    subject = credential["credentialSubject"]
    assert subject["name"] == "Li Na"
    assert "li.na@example.com" not in str(credential)
    assert subject["identifier"][0]["identityHash"] == document.identity_hash(
        "Li.Na@example.com ", "pepper"
    )
    achievement = subject["achievement"]
    assert achievement["name"] == "Practice Certificate"
    assert achievement["related"][0] == {
        "id": FACTS.achievement_id + "#zh-Hans",
        "type": ["Related"],
        "inLanguage": "zh-Hans",
        "name": "实践证书",
    }
    assert achievement["creator"]["name"] == "Clinical Medicine"
    assert "2025-2026-CM-0007" in credential["evidence"][0]["name"]
    assert credential["credentialStatus"] == {
        "id": "https://college.edu/credentials/status/1#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": "https://college.edu/credentials/status/1",
    }


def test_a_college_honour_is_issued_by_the_college_itself():
    college = document.HonourFacts(
        **{**FACTS.__dict__, "department": None, "department_code": None}
    )
    credential = document.honour_credential(
        college, did="did:web:college.edu", base_url="https://college.edu"
    )
    assert credential["credentialSubject"]["source"]["id"] == "did:web:college.edu"


def test_the_jwt_claims_map_the_credential():
    credential = document.honour_credential(
        FACTS, did="did:web:college.edu", base_url="https://college.edu"
    )
    claims = document.jwt_claims(credential)
    assert claims["iss"] == "did:web:college.edu"
    assert claims["jti"] == FACTS.credential_id
    assert claims["sub"] == FACTS.subject_id
    assert claims["nbf"] == int(FACTS.issued_at.timestamp())
    assert "exp" not in claims
    assert "vc" not in claims


def test_the_did_document_lists_every_key_for_assertions():
    doc = document.did_document("did:web:x", [("k2", {"kty": "OKP"}), ("k1", {"kty": "OKP"})])
    assert doc["assertionMethod"] == ["did:web:x#k2", "did:web:x#k1"]
    assert doc["verificationMethod"][0]["type"] == "JsonWebKey2020"


# --- signing ---------------------------------------------------------------------------------


def test_a_signature_holds_only_with_its_own_key():
    key, other = vcjwt.generate_key(), vcjwt.generate_key()
    token = vcjwt.sign({"iss": "did:web:x"}, key, "did:web:x#1")
    assert vcjwt.verify(token, vcjwt.public_jwk(key)) == {"iss": "did:web:x"}
    with pytest.raises(vcjwt.BadSignature):
        vcjwt.verify(token, vcjwt.public_jwk(other))


@pytest.mark.parametrize("text", ["", "a.b", "a.b.c", "x" * 40_000])
def test_unreadable_tokens(text):
    with pytest.raises(vcjwt.Unreadable):
        vcjwt.peek(text)


# --- baking ----------------------------------------------------------------------------------


def test_a_png_badge_keeps_its_picture_and_carries_the_credential():
    from PIL import Image

    picture = baking.badge_png(number="2025-2026-CM-0007")
    baked = baking.bake_png(picture, "aaa.bbb.ccc")
    assert baking.read_png(baked) == "aaa.bbb.ccc"
    assert baking.read_badge(baked) == "aaa.bbb.ccc"
    assert Image.open(io.BytesIO(baked)).size == (400, 400)
    # Baked again: one credential, the new one.
    again = baking.bake_png(baked, "ddd.eee.fff")
    assert baking.read_png(again) == "ddd.eee.fff"
    assert again.count(baking.PNG_KEYWORD) == 1


def test_pillow_reads_the_itxt_chunk_as_ob3_names_it():
    from PIL import Image

    baked = baking.bake_png(baking.badge_png(number="N"), "aaa.bbb.ccc")
    assert Image.open(io.BytesIO(baked)).text["openbadgecredential"] == "aaa.bbb.ccc"


def test_an_svg_badge_carries_the_credential_in_the_ob3_element():
    svg = baking.bake_svg(
        baking.badge_svg(award_name="A & B", award_name_zh="证书", number="N", institution="<I>"),
        "aaa.bbb.ccc",
    )
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in svg
    assert '<openbadges:credential verify="aaa.bbb.ccc">' in svg
    assert baking.read_svg(svg.encode()) == "aaa.bbb.ccc"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><svg xmlns='http://www.w3.org/2000/svg'>&a;</svg>",
        b"<html/>",
        b"<svg",
    ],
)
def test_garbage_images_carry_nothing(data):
    with pytest.raises(baking.NotABadge):
        baking.read_badge(data)


def test_a_damaged_png_chunk_is_noticed():
    baked = bytearray(baking.bake_png(baking.badge_png(number="N"), "aaa.bbb.ccc"))
    at = baked.index(baking.PNG_KEYWORD) + 30
    baked[at] ^= 0xFF
    with pytest.raises(baking.NotABadge, match="damaged"):
        baking.read_png(bytes(baked))
