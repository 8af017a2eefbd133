"""The badge on a phone: the certificate page offers it, and the public check takes the
downloaded image and says it is valid — at 360 px, in both languages, nothing loaded
from elsewhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from exchange.extensions import db
from exchange.rewards import services as rewards
from exchange.timeutil import college_today
from tests.e2e.test_phone_layout import LAYOUT_PROBLEMS, _sign_in


@pytest.fixture
def honour(app, live_server, college, make_log):
    for n in range(5):
        make_log(status="approved", hours="8", work_date=college_today() - timedelta(days=n))
    reward_round = rewards.open_round(college.head, college.department.id, college.period.id)
    for award in reward_round.awards:
        rewards.decide_award(college.head, award, True)
    with app.test_request_context(base_url=live_server):  # the address the phone opens
        rewards.finalize_round(college.admin, reward_round, early=True)
    db.session.commit()
    return next(a for a in reward_round.awards if a.rule.kind == "honour")


def test_the_holder_downloads_the_badge_and_anyone_checks_it(phone, college, honour, tmp_path):
    _sign_in(phone, college.teacher)
    phone.goto(f"/rewards/awards/{honour.id}/certificate")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    expect(phone.get_by_label("Share link to the public check")).to_have_value(
        f"{phone.context.pages[0].url.split('/rewards')[0]}/verify/{honour.verification_code}"
    )
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Badge image (PNG)").tap()
    badge = tmp_path / "badge.png"
    download.value.save_as(badge)

    phone.goto("/verify")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    phone.get_by_label("Or a badge image (PNG or SVG, at most 512 KB)").set_input_files(str(badge))
    phone.get_by_role("button", name="Check", exact=True).tap()
    expect(phone.get_by_text("VALID", exact=True)).to_be_visible()
    expect(phone.locator("dd", has_text="Li Na")).to_be_visible()
    assert phone.evaluate(LAYOUT_PROBLEMS) == []


def test_the_check_page_fits_a_phone_in_chinese(phone, live_server):
    phone.context.add_cookies([{"name": "lang", "value": "zh_Hans", "url": live_server}])
    phone.goto("/verify")
    expect(phone.get_by_role("heading", name="核验凭证")).to_be_visible()
    phone.get_by_role("button", name="核验").tap()
    expect(phone.get_by_text("请粘贴凭证，或选择徽章图片。")).to_be_visible()
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
