"""Offline and on the home screen, server side: the service worker at /sw.js, the
manifest's icons, the session names the worker keeps pages by, and the log form's
JSON answer that the phone uses to send entries saved offline."""

from __future__ import annotations

import json
import re
import struct
import uuid
from io import BytesIO
from pathlib import Path

import pytest
from flask import url_for
from sqlalchemy import func, select

from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from exchange.offline import OWNER_HEADER, SESSION_HEADER, SHELL_FILES
from tests.conftest import PASSWORD
from tests.helpers import practice_form, sql_statements

STATIC = Path(__file__).resolve().parent.parent / "static"
JSON = {"Accept": "application/json"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def _practice(college, **overrides):
    """A practice log sent for verification, as the offline queue sends it."""
    fields = {"description": "Night shift in the emergency department", "intent": "submit"}
    return practice_form(college, **{**fields, **overrides})


def _logs_with(client_id: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ExchangeLog).where(ExchangeLog.client_id == client_id)
    )


# --- the service worker ------------------------------------------------------------------


def test_the_worker_is_served_at_the_root_and_always_revalidated(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    # Served at the root, so that its scope covers every page; a worker under
    # /static/ could not control them.
    assert "Service-Worker-Allowed" not in response.headers
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_worker_keeps_the_shell_and_the_log_form_by_their_addresses(app, client):
    script = client.get("/sw.js").get_data(as_text=True)
    config = json.loads(re.search(r"var CONFIG = (\{.*?\});\n", script).group(1))
    with app.test_request_context():
        shell = [url_for("static", filename=name) for name in SHELL_FILES]
        assert config["shell"] == shell
        assert url_for("logs.new") in config["pages"]
        assert url_for("logs.mine") in config["pages"]
        assert config["logForm"] == url_for("logs.new")
        assert config["offlineScript"] == url_for("static", filename="offline.js")
    for address in config["shell"]:
        with client.get(address) as response:
            assert response.status_code == 200, address


def test_the_worker_reads_nothing_from_the_database(client, college, login_as):
    login_as(college.teacher)
    client.get("/sw.js")
    with sql_statements() as anonymous:
        client.get("/sw.js")
    assert len(anonymous) <= 1  # the signed-in person's session, nothing else


# --- installing it -------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    colour_type = data[25]
    assert colour_type in (0, 2), "opaque: grey or RGB, no alpha channel"
    return width, height


def test_the_manifest_offers_maskable_png_icons_for_home_screens(client):
    with client.get("/static/manifest.webmanifest") as response:
        manifest = json.loads(response.get_data(as_text=True))
    pngs = {icon["sizes"]: icon for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert set(pngs) == {"192x192", "512x512"}
    for sizes, icon in pngs.items():
        assert "maskable" in icon["purpose"].split()
        with client.get(icon["src"]) as response:
            assert response.status_code == 200
        width = int(sizes.split("x")[0])
        assert _png_size(STATIC / Path(icon["src"]).name) == (width, width)
    assert any(icon["type"] == "image/svg+xml" for icon in manifest["icons"])
    assert manifest["scope"] == "/"


def test_pages_link_an_apple_touch_icon_and_the_offline_script(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="apple-touch-icon" href="/static/icon-192\.png', html)
    assert re.search(r'<script src="/static/offline\.js[^"]*" data-worker="/sw\.js" defer>', html)
    # Signed out: no settings (no texts, no owner) for the page script.
    assert 'id="offline-config"' not in html


# --- whose pages ---------------------------------------------------------------------------


def test_each_session_names_itself_and_signing_out_clears_the_kept_pages(
    app, client, college, login_as
):
    assert SESSION_HEADER not in client.get("/login").headers
    login_as(college.teacher)
    first = client.get("/logs/")
    name, owner = first.headers[SESSION_HEADER], first.headers[OWNER_HEADER]
    assert len(name) == 32
    assert len(owner) == 32
    assert str(college.teacher.id) not in (name, owner)
    assert client.get("/logs/new").headers[SESSION_HEADER] == name

    signed_out = client.post("/logout")
    assert signed_out.headers["Clear-Site-Data"] == '"cache"'
    assert SESSION_HEADER not in client.get("/login").headers

    # The same person's next session: a new cache, the same owner of waiting entries.
    login_as(college.teacher)
    again = client.get("/logs/")
    assert again.headers[SESSION_HEADER] != name
    assert again.headers[OWNER_HEADER] == owner

    other = app.test_client()
    other.post("/login", data={"email": college.expert.email, "password": PASSWORD})
    theirs = other.get("/logs/")
    assert theirs.headers[SESSION_HEADER] not in (name, again.headers[SESSION_HEADER])
    assert theirs.headers[OWNER_HEADER] != owner


def test_the_page_script_gets_its_texts_in_the_persons_language(client, college, login_as):
    login_as(college.teacher)
    client.post("/lang/zh_Hans", data={"next": "/logs/"})
    html = client.get("/logs/").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="offline-config">(.*?)</script>', html)
    config = json.loads(block.group(1))
    assert config["logForm"] == "/logs/new"
    assert config["text"]["offline"] != "Offline — showing what you saw last."
    assert config["text"]["waiting"] != "Waiting to send"
    assert config["owner"] == client.get("/logs/").headers[OWNER_HEADER]


def test_a_secret_shown_once_is_not_kept(client, college, login_as):
    login_as(college.teacher)
    response = client.get("/account/two-factor")
    assert response.status_code == 200
    assert response.headers["X-Exchange-Keep"] == "no"
    assert "X-Exchange-Keep" not in client.get("/logs/").headers


# --- the log form's JSON answer ----------------------------------------------------------------


def test_the_form_answers_json_with_a_fresh_token_and_the_owner(client, college, login_as):
    login_as(college.teacher)
    answer = client.get("/logs/new", headers=JSON)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["csrf_token"]
    uuid.UUID(body["client_id"])
    assert body["owner"] == client.get("/logs/").headers[OWNER_HEADER]
    # A page asks for HTML, as before.
    page = client.get("/logs/new")
    assert page.mimetype == "text/html"


def test_a_json_post_makes_one_log_however_often_it_is_sent(client, college, login_as):
    login_as(college.teacher)
    data = _practice(college)
    first = client.post("/logs/new", data=data, headers=JSON)
    assert first.status_code == 201
    body = first.get_json()
    assert body["created"] is True
    assert body["status"] == "submitted"
    assert body["url"] == f"/logs/{body['id']}"
    again = client.post("/logs/new", data=data, headers=JSON)
    assert again.status_code == 200
    assert again.get_json() == {**body, "created": False}
    assert _logs_with(data["client_id"]) == 1


def test_a_refused_json_post_names_each_field_with_its_label(client, college, login_as):
    login_as(college.teacher)
    data = _practice(college, hours="13", description="")
    answer = client.post("/logs/new", data=data, headers=JSON)
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    fields = {error["field"]: error for error in errors}
    assert set(fields) == {"hours", "description"}
    assert fields["hours"]["label"] == "Hours"
    assert fields["description"]["label"] == "What did you do?"
    assert all(error["message"] for error in errors)
    assert _logs_with(data["client_id"]) == 0


def test_a_json_post_into_a_locked_period_says_so_on_the_date(client, college, login_as):
    login_as(college.teacher)
    college.period.state = "locked"
    db.session.commit()
    answer = client.post("/logs/new", data=_practice(college), headers=JSON)
    assert answer.status_code == 422
    [error] = answer.get_json()["errors"]
    assert error["field"] == "date"
    assert error["label"] == "Date"
    assert college.period.name in error["message"]


def test_a_tampered_client_id_is_refused_without_a_label_of_its_own(client, college, login_as):
    login_as(college.teacher)
    answer = client.post("/logs/new", data=_practice(college, client_id="not-a-uuid"), headers=JSON)
    assert answer.status_code == 422
    [error] = answer.get_json()["errors"]
    assert error == {"field": "client_id", "label": "", "message": "Must be a UUID."}


def test_an_oversize_photo_sent_later_is_refused_with_its_reason(client, college, login_as):
    login_as(college.teacher)
    big = PNG + b"\x00" * (5 * 1024 * 1024)
    data = _practice(college, evidence=(BytesIO(big), "ward.png"))
    answer = client.post("/logs/new", data=data, headers=JSON, content_type="multipart/form-data")
    # The test client spools a large body to a temporary file and leaves it open.
    answer.request.environ["wsgi.input"].close()
    assert answer.status_code == 422
    [error] = answer.get_json()["errors"]
    assert error["field"] == "evidence"
    assert "5 MB" in error["message"]
    assert _logs_with(data["client_id"]) == 0


@pytest.mark.parametrize("who", ["admin", "anonymous"])
def test_no_json_answer_for_people_who_do_not_log_hours(client, college, login_as, who):
    if who == "admin":
        login_as(college.admin)
        assert client.get("/logs/new", headers=JSON).status_code == 403
        assert client.post("/logs/new", data=_practice(college), headers=JSON).status_code == 403
    else:
        answer = client.get("/logs/new", headers=JSON)
        assert answer.status_code == 302
        assert "/login" in answer.headers["Location"]
        assert "csrf_token" not in answer.get_data(as_text=True)


def test_the_page_token_from_the_json_answer_passes_csrf(make_app, college):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    phone = guarded.test_client()
    login_page = phone.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    phone.post(
        "/login",
        data={"email": college.teacher.email, "password": PASSWORD, "csrf_token": token},
    )
    data = _practice(college)
    stale = phone.post("/logs/new", data={**data, "csrf_token": "expired"}, headers=JSON)
    assert stale.status_code == 400
    fresh = phone.get("/logs/new", headers=JSON).get_json()["csrf_token"]
    sent = phone.post("/logs/new", data={**data, "csrf_token": fresh}, headers=JSON)
    assert sent.status_code == 201
    assert _logs_with(data["client_id"]) == 1
