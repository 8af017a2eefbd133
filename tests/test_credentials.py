"""Open Badges 3.0 credentials of issued honours (SPEC §5, issue 13): issued at
finalize, downloaded by the holder, heads and admins, checked by anyone, revoked at once."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from exchange.credentials import baking, bitstring, document, keys, vcjwt
from exchange.credentials.models import AwardCredential, SigningKey
from exchange.extensions import db, limiter
from exchange.rewards import services
from exchange.rewards.models import Award, AwardStatus
from exchange.timeutil import college_today
from tests.conftest import PASSWORD
from tests.helpers import API, assert_error, openapi_document

BASE = "http://localhost"
DID = "did:web:localhost"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def honour(app, college, make_log):
    """Li Na's Practice Certificate, issued by an admin finalizing the round early (in a
    request to http://localhost, the address the test client uses)."""
    for n in range(5):
        make_log(
            college.teacher, status="approved", hours="8", work_date=college_today() - timedelta(n)
        )
    for n in range(2):  # Chen Hao's teaching: a teaching fee (a bonus)
        make_log(
            college.expert, status="approved", hours="8", work_date=college_today() - timedelta(n)
        )
    reward_round = services.open_round(college.admin, college.department.id, college.period.id)
    for award in reward_round.awards:
        services.decide_award(college.admin, award, True)
    with app.test_request_context(base_url=BASE):
        services.finalize_round(college.admin, reward_round, early=True)
    db.session.commit()
    db.session.expire_all()
    return next(a for a in reward_round.awards if a.rule.code == "practice-cert")


def _claims(token: str) -> dict:
    return vcjwt.peek(token).claims


def _token(client, login_as, user, award: Award) -> str:
    login_as(user)
    response = client.get(f"/rewards/awards/{award.id}/credential.jwt")
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/vc+jwt"
    return response.get_data(as_text=True)


def _check(client, **form):
    # The body is built here in memory (the test client would spool a large one to a
    # file it leaves open).
    fields = {
        key: FileStorage(stream=value[0], filename=value[1]) if isinstance(value, tuple) else value
        for key, value in form.items()
    }
    boundary, body = encode_multipart(fields)
    return client.post(
        "/verify", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


# --- issuing --------------------------------------------------------------------------------


def test_finalize_issues_a_signed_credential_for_each_honour(app, college, honour):
    stored = db.session.get(AwardCredential, honour.id)
    assert stored is not None
    peeked = vcjwt.peek(stored.token)
    key = db.session.get(SigningKey, stored.signing_key_id)
    assert peeked.header["alg"] == "EdDSA"
    assert peeked.header["typ"] == "JWT"
    assert peeked.header["kid"].endswith(f"#{key.kid}")
    assert peeked.header["jwk"] == json.loads(key.public_jwk)
    claims = vcjwt.verify(stored.token, json.loads(key.public_jwk))
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert claims["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert claims["iss"] == claims["issuer"]["id"]
    assert claims["jti"] == claims["id"] == stored.credential_id
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["nbf"] == int(honour.issued_at.timestamp())
    subject = claims["credentialSubject"]
    assert subject["name"] == "Li Na"
    achievement = subject["achievement"]
    assert achievement["name"] == honour.rule.name
    assert achievement["related"][0]["name"] == honour.rule.name_zh
    assert (
        "at least 40 approved practice hours in 2026-2027"
        in achievement["criteria"]["narrative"].lower()
    )
    assert achievement["creator"]["name"] == "Clinical Medicine"
    assert honour.certificate_number in claims["evidence"][0]["name"]
    assert claims["credentialStatus"]["statusPurpose"] == "revocation"
    # No e-mail address anywhere: only its salted hash.
    assert college.teacher.email not in stored.token
    assert college.teacher.email not in json.dumps(claims)
    identity = subject["identifier"][0]
    assert identity["identityHash"] == document.identity_hash(
        college.teacher.email, identity["salt"]
    )


def test_bonuses_get_no_credential(college, honour):
    bonuses = [a for a in honour.round.awards if a.rule.kind == "bonus"]
    for bonus in bonuses:
        assert db.session.get(AwardCredential, bonus.id) is None


def test_each_credential_has_its_own_bit(college, honour):
    positions = db.session.execute(
        db.select(AwardCredential.status_list, AwardCredential.status_index)
    ).all()
    assert len(positions) == len(set(positions))


# --- getting it -------------------------------------------------------------------------


def test_the_holder_downloads_the_credential_and_both_badges(client, college, honour, login_as):
    token = _token(client, login_as, college.teacher, honour)
    assert token == db.session.get(AwardCredential, honour.id).token
    png = client.get(f"/rewards/awards/{honour.id}/badge.png")
    assert png.mimetype == "image/png"
    assert baking.read_png(png.data) == token
    svg = client.get(f"/rewards/awards/{honour.id}/badge.svg")
    assert svg.mimetype == "image/svg+xml"
    assert baking.read_svg(svg.data) == token


def test_the_certificate_page_offers_the_badges_and_a_share_link(client, college, honour, login_as):
    login_as(college.teacher)
    page = client.get(f"/rewards/awards/{honour.id}/certificate").get_data(as_text=True)
    assert f"/rewards/awards/{honour.id}/badge.png" in page
    assert f"/rewards/awards/{honour.id}/badge.svg" in page
    assert f"/rewards/awards/{honour.id}/credential.jwt" in page
    assert f"/verify/{honour.verification_code}" in page


def test_the_api_answers_the_credential_to_holder_head_and_admin(
    client, college, honour, api_token
):
    url = f"{API}/awards/{honour.id}/credential"
    for user in (college.teacher, college.head, college.admin):
        response = client.get(url, headers=api_token(user))
        assert response.status_code == 200
        assert response.mimetype == "application/vc+jwt"
        assert _claims(response.get_data(as_text=True))["jti"]


@pytest.mark.parametrize("who", ["other_teacher", "foreign_head", "expert"])
def test_nobody_else_gets_the_credential(client, college, honour, api_token, login_as, who):
    user = getattr(college, who)
    assert_error(
        client.get(f"{API}/awards/{honour.id}/credential", headers=api_token(user)),
        404,
        "not_found",
    )
    login_as(user)
    assert client.get(f"/rewards/awards/{honour.id}/badge.png").status_code == 404


def test_no_credential_for_a_bonus_an_unknown_id_or_without_a_token(
    client, college, honour, api_token
):
    bonus = next(a for a in honour.round.awards if a.rule.kind == "bonus")
    headers = api_token(college.admin)
    assert_error(
        client.get(f"{API}/awards/{bonus.id}/credential", headers=headers), 404, "not_found"
    )
    assert_error(client.get(f"{API}/awards/99999/credential", headers=headers), 404, "not_found")
    assert client.get(f"{API}/awards/{honour.id}/credential").status_code == 401


def test_the_award_resource_names_its_credential(client, college, honour, api_token):
    body = client.get(
        f"{API}/rounds/{honour.round_id}", headers=api_token(college.admin)
    ).get_json()
    mine = next(a for a in body["awards"] if a["id"] == honour.id)
    assert mine["credential_url"].endswith(f"/api/v1/awards/{honour.id}/credential")
    bonus = next(a for a in body["awards"] if a["kind"] == "bonus")
    assert bonus["credential_url"] is None


def test_the_openapi_document_describes_the_credential(client):
    doc = openapi_document(client)
    answer = doc["paths"]["/awards/{award_id}/credential"]["get"]["responses"]["200"]
    assert answer["content"] == {"application/vc+jwt": {"schema": {"type": "string"}}}


# --- the DID document and the status list -----------------------------------------------------


def test_the_did_document_publishes_every_key_ever_used(app, client, college, honour, runner):
    first = client.get("/.well-known/did.json").get_json()
    assert first["id"] == DID
    assert len(first["verificationMethod"]) == 1
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    second = client.get("/.well-known/did.json").get_json()
    assert len(second["verificationMethod"]) == 2
    assert first["verificationMethod"][0] in second["verificationMethod"]
    # The credential signed before the rotation still checks as valid.
    token = db.session.get(AwardCredential, honour.id).token
    assert "VALID" in _check(client, credential=token).get_data(as_text=True)


def test_revoking_flips_the_bit_at_once(client, college, honour, api_token):
    stored = db.session.get(AwardCredential, honour.id)
    url = f"/credentials/status/{stored.status_list}"

    def bit() -> bool:
        response = client.get(url)
        assert response.mimetype == "application/vc+jwt"
        claims = _claims(response.get_data(as_text=True))
        assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        bits = bitstring.decode(claims["credentialSubject"]["encodedList"])
        return bitstring.is_set(bits, stored.status_index)

    assert bit() is False
    response = client.post(
        f"{API}/awards/{honour.id}/revoke",
        headers=api_token(college.admin),
        json={"reason": "Hours withdrawn."},
    )
    assert response.status_code == 200
    assert bit() is True
    assert client.get(f"{API}/verify/{honour.verification_code}").get_json()["status"] == "revoked"
    page = _check(client, credential=stored.token).get_data(as_text=True)
    assert "REVOKED" in page


def test_an_unknown_status_list_is_not_found(client, honour):
    assert client.get("/credentials/status/2").status_code == 404
    assert client.get("/credentials/status/0").status_code == 404


# --- checking a pasted credential or an uploaded badge ---------------------------------------


def test_anyone_checks_a_pasted_credential_or_a_badge_image(client, college, honour, login_as):
    token = _token(client, login_as, college.teacher, honour)
    png = client.get(f"/rewards/awards/{honour.id}/badge.png").data
    svg = client.get(f"/rewards/awards/{honour.id}/badge.svg").data
    client.post("/logout")
    client.delete_cookie("session")
    page = _check(client, credential=token)
    assert page.status_code == 200
    assert "VALID" in page.get_data(as_text=True)
    assert "Li Na" in page.get_data(as_text=True)
    for name, data in (("badge.png", png), ("badge.svg", svg)):
        answer = _check(client, badge=(io.BytesIO(data), name))
        assert "VALID" in answer.get_data(as_text=True), name


def test_the_check_speaks_chinese(client, honour):
    token = db.session.get(AwardCredential, honour.id).token
    page = client.post("/verify", data={"credential": token}, headers={"Accept-Language": "zh-CN"})
    assert "有效" in page.get_data(as_text=True)


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["name"] = "Mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_a_tampered_credential_is_said_so(client, honour):
    token = db.session.get(AwardCredential, honour.id).token
    page = _check(client, credential=_tampered(token)).get_data(as_text=True)
    assert "TAMPERED" in page
    assert "Mallory" not in page


def test_a_credential_signed_by_another_key_is_tampered(client, honour):
    token = db.session.get(AwardCredential, honour.id).token
    claims = _claims(token)
    stranger = vcjwt.generate_key()
    # Carrying its own key in the header changes nothing: only published keys count.
    forged = vcjwt.sign(claims, stranger, vcjwt.peek(token).header["kid"])
    assert "TAMPERED" in _check(client, credential=forged).get_data(as_text=True)


def test_alg_none_is_never_accepted(client, honour):
    token = db.session.get(AwardCredential, honour.id).token
    header = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        .decode()
        .rstrip("=")
    )
    unsigned = f"{header}.{token.split('.')[1]}."
    assert "TAMPERED" in _check(client, credential=unsigned).get_data(as_text=True)


def test_a_credential_of_another_issuer_is_not_ours(client, honour):
    claims = _claims(db.session.get(AwardCredential, honour.id).token)
    claims["iss"] = "did:web:elsewhere.example.com"
    other = vcjwt.sign(claims, vcjwt.generate_key(), "did:web:elsewhere.example.com#1")
    assert "NOT ISSUED HERE" in _check(client, credential=other).get_data(as_text=True)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({}, 422, "Paste a credential or choose a badge image."),
        ({"credential": "x" * 40_000}, 413, "too long"),
        ({"badge": (io.BytesIO(b"GIF89a garbage"), "badge.gif")}, 422, "PNG or SVG"),
        (
            {"badge": (io.BytesIO(b"\x89PNG\r\n\x1a\ngarbage"), "badge.png")},
            422,
            "no Open Badges credential",
        ),
        (
            {"badge": (io.BytesIO(b"<svg><x/></svg>"), "badge.svg")},
            422,
            "no Open Badges credential",
        ),
        ({"badge": (io.BytesIO(b"\x89PNG" + b"0" * (600 * 1024)), "badge.png")}, 413, "too large"),
    ],
)
def test_bad_input_is_refused_clearly(client, form, status, message):
    response = _check(client, **form)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)


def test_a_refused_paste_stays_in_its_box(client):
    typed = "eyJhbGciOiJFZERTQSJ9.<b>not</b>." + "x" * 40_000
    page = _check(client, credential=typed).get_data(as_text=True)
    assert "too long" in page
    assert "eyJhbGciOiJFZERTQSJ9.&lt;b&gt;not&lt;/b&gt;." + "x" * 40_000 + "</textarea>" in page


def test_garbage_text_is_not_a_credential(client):
    page = _check(client, credential="hello.there.friend").get_data(as_text=True)
    assert "NOT A CREDENTIAL" in page


def test_the_check_is_throttled(client, app):
    for _ in range(20):
        _check(client, credential="nope")
    assert _check(client, credential="nope").status_code == 429


def test_the_check_page_needs_no_login(client):
    page = client.get("/verify")
    assert page.status_code == 200
    assert '<label for="credential">' in page.get_data(as_text=True)
    assert '<label for="badge">' in page.get_data(as_text=True)


# --- keys ------------------------------------------------------------------------------------


def test_the_private_key_is_stored_encrypted_with_the_secret_key(app, make_app, honour):
    row = db.session.execute(db.select(SigningKey)).scalar_one()
    assert row.private_key is not None
    assert row.public_jwk.split('"x": ')[1][:20] not in row.private_key
    with (
        make_app(SECRET_KEY="another-secret").test_request_context(),
        pytest.raises(keys.KeyUnavailable),
    ):
        keys.current_signer()
    # A rotated SECRET_KEY with the old one among the fallbacks still opens it.
    rotated = make_app(SECRET_KEY="another-secret", SECRET_KEY_FALLBACKS=["test-secret"])
    with rotated.test_request_context():
        assert keys.current_signer().row.id == row.id


def test_a_key_file_signs_when_configured(make_app, tmp_path, college):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    path = tmp_path / "signing.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    other = make_app(EXCHANGE_SIGNING_KEY=str(path))
    with other.test_request_context():
        signer = keys.current_signer()
        assert signer.row.private_key is None  # only the public half is kept
        with pytest.raises(keys.KeyUnavailable):
            keys.rotate()
        db.session.rollback()


@pytest.mark.parametrize("award_id", ["0", "-1", "abc", "1.5", "99999999999", "%00"])
def test_tampered_award_ids_are_not_found(client, college, honour, api_token, award_id):
    response = client.get(f"{API}/awards/{award_id}/credential", headers=api_token(college.admin))
    assert response.status_code == 404


@pytest.mark.parametrize("number", ["0", "-1", "abc", "99999999999999999999"])
def test_tampered_status_list_numbers_are_not_found(client, honour, number):
    assert client.get(f"/credentials/status/{number}").status_code == 404


def test_a_proposed_honour_has_no_credential_yet(client, college, make_log, api_token):
    for n in range(5):
        make_log(
            college.teacher, status="approved", hours="8", work_date=college_today() - timedelta(n)
        )
    reward_round = services.open_round(college.head, college.department.id, college.period.id)
    db.session.commit()
    proposed = next(a for a in reward_round.awards if a.rule.code == "practice-cert")
    assert proposed.status == AwardStatus.PROPOSED
    response = client.get(f"{API}/awards/{proposed.id}/credential", headers=api_token(college.head))
    assert_error(response, 404, "not_found")


def test_an_honour_issued_before_credentials_gets_one_when_asked(
    client, college, honour, api_token
):
    db.session.execute(db.delete(AwardCredential))
    db.session.commit()
    response = client.get(
        f"{API}/awards/{honour.id}/credential", headers=api_token(college.teacher)
    )
    assert response.status_code == 200
    assert db.session.get(AwardCredential, honour.id).token == response.get_data(as_text=True)


def test_the_demo_s_credentials_name_the_address_it_is_opened_at(demo_college):
    tokens = db.session.execute(db.select(AwardCredential.token)).scalars().all()
    assert tokens, "the demo's finalized round issues credentials"
    assert {_claims(token)["iss"] for token in tokens} == {"did:web:127.0.0.1%3A5000"}


def test_a_position_already_taken_is_drawn_again(app, college, honour, monkeypatch):
    from exchange.credentials import services as credential_services

    taken = db.session.get(AwardCredential, honour.id)
    draws = iter([taken.status_index, 4242])
    monkeypatch.setattr(credential_services.secrets, "randbelow", lambda _n: next(draws))
    db.session.delete(taken)  # as if the honour had no credential yet …
    db.session.flush()
    other = AwardCredential(
        **{  # … and its old position belonged to someone else
            c: getattr(taken, c) for c in ("status_list", "status_index", "signing_key_id", "token")
        },
        award_id=next(a.id for a in honour.round.awards if a.id != honour.id),
        credential_id="x",
    )
    db.session.add(other)
    db.session.flush()
    with app.test_request_context(base_url=BASE):
        issued = credential_services.issue_credential(db.session.get(Award, honour.id))
    assert issued.status_index == 4242
    assert _claims(issued.token)["credentialStatus"]["statusListIndex"] == "4242"


def test_a_signing_key_that_cannot_be_opened_stops_a_finalize_with_a_clear_answer(
    make_app, college, honour
):
    """The key was made under another SECRET_KEY (rotated without keeping the old one as
    a fallback): finalizing asks for a signature it cannot make. The admin is told so
    (503, no trace of a server error) and the round stays a draft, nothing issued."""
    college_round = services.open_round(college.admin, None, college.period.id, scope="college")
    (mentor,) = [a for a in college_round.awards if a.rule.code == "mentor-cert"]
    services.decide_award(college.admin, mentor, True)
    db.session.commit()
    rotated = make_app(SECRET_KEY="another-secret-" + "x" * 32).test_client()
    token = rotated.post(
        "/api/v1/tokens", json={"email": college.admin.email, "password": PASSWORD}
    ).get_json()["token"]
    answer = rotated.post(
        f"{API}/rounds/{college_round.id}/finalize",
        headers={"Authorization": f"Bearer {token}"},
        json={"early": True},
    )
    body = assert_error(answer, 503, "unavailable")
    assert "signing key cannot be opened" in body["message"]
    assert "SECRET_KEY" not in body["message"]  # the reason is for the log, not the caller
    db.session.expire_all()
    assert db.session.get(Award, mentor.id).status == AwardStatus.APPROVED
    assert college_round.state == "draft"
