"""Links that leave the app start with EXCHANGE_BASE_URL, never with the request's
Host header (SPEC §8): a forged Host cannot put another address into a QR code, an
API answer or an export."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from exchange.extensions import db, limiter
from exchange.links import external_url
from exchange.presentation import qr_svg
from exchange.rewards import services as reward_services
from exchange.timeutil import college_today
from tests.conftest import PASSWORD, period_end

BASE = "https://exchange.example.edu"
FORGED = {"Host": "attacker.example.net"}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def public_app(make_app):
    return make_app(EXCHANGE_BASE_URL=BASE)


def sign_in(client, user) -> None:
    # On the forged host throughout: the test client keeps cookies per host.
    data = {"email": user.email, "password": PASSWORD}
    assert client.post("/login", data=data, headers=FORGED).status_code == 302


def test_the_onsite_qr_code_and_link_use_the_base_url(public_app, college, make_log):
    log = make_log(college.teacher, status="submitted")
    browser = public_app.test_client()
    sign_in(browser, college.teacher)
    made = browser.post(f"/logs/{log.id}/confirmation", headers=FORGED)
    assert "attacker.example.net" not in made.headers["Location"]
    page = browser.get(f"/logs/{log.id}/confirmation", headers=FORGED).get_data(as_text=True)
    assert "attacker.example.net" not in page
    [url] = set(re.findall(re.escape(BASE) + r"/confirm/[A-Za-z0-9._-]+", page))
    with public_app.test_request_context(headers=FORGED):
        assert str(qr_svg(url)) in page  # the QR code encodes that same address


def test_api_links_use_the_base_url(public_app, college, make_log, api_token):
    log = make_log(college.teacher, status="submitted")
    api = public_app.test_client()
    headers = {**api_token(college.teacher), **FORGED}
    link = api.post(f"/api/v1/logs/{log.id}/confirmation-link", headers=headers).get_json()
    assert link["url"].startswith(f"{BASE}/confirm/")
    answer = api.get(f"/api/v1/logs/{log.id}", headers=headers).get_json()
    assert answer["url"] == f"{BASE}/logs/{log.id}"


def test_certificates_and_round_exports_use_the_base_url(
    public_app, college, make_log, api_token, travel
):
    for n in range(5):  # 40 h approved: a Practice Certificate
        make_log(
            college.teacher, status="approved", hours="8", work_date=college_today() - timedelta(n)
        )
    travel(period_end(college.period))
    reward_round = reward_services.open_round(
        college.head, college.department.id, college.period.id
    )
    for award in reward_round.awards:
        reward_services.decide_award(college.head, award, True)
    reward_services.finalize_round(college.head, reward_round)
    db.session.commit()
    award = next(a for a in reward_round.awards if a.rule.code == "practice-cert")

    browser = public_app.test_client()
    sign_in(browser, college.teacher)
    page = browser.get(f"/rewards/awards/{award.id}/certificate", headers=FORGED)
    assert f"{BASE}/verify/{award.verification_code}" in page.get_data(as_text=True)
    assert "attacker.example.net" not in page.get_data(as_text=True)

    headers = {**api_token(college.head), **FORGED}
    exports = public_app.test_client().get(f"/api/v1/rounds/{reward_round.id}", headers=headers)
    urls = list(exports.get_json()["exports"].values())
    assert len(urls) == 4
    assert all(url.startswith(f"{BASE}/rewards/rounds/") for url in urls)


def test_the_base_url_may_carry_a_path(make_app):
    below = make_app(EXCHANGE_BASE_URL="https://college.example.edu/exchange")
    with below.test_request_context("/", headers=FORGED):
        assert external_url("rewards.verify", code="ABC") == (
            "https://college.example.edu/exchange/verify/ABC"
        )
    with below.app_context():  # outside any request (the command line)
        assert external_url("accounts.login") == "https://college.example.edu/exchange/login"


def test_without_a_base_url_development_links_follow_the_request(app):
    assert not app.config["EXCHANGE_BASE_URL"]
    with app.test_request_context("/", headers={"Host": "192.168.1.20:5000"}):
        assert external_url("rewards.verify", code="ABC") == "http://192.168.1.20:5000/verify/ABC"
    with app.app_context():
        assert external_url("accounts.login") == "http://localhost:5000/login"
