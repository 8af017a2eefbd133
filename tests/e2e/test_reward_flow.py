"""The reward year in a real browser: a head opens the year's round as a preview,
approves, finalizes once the year is over, prints a certificate whose QR code opens
a valid verification page on a phone, and gets a payout sheet for finance."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from exchange.timeutil import college_today
from tests.conftest import period_end
from tests.e2e.conftest import PHONE
from tests.e2e.test_log_flow import _sign_in


def test_open_approve_finalize_print_verify(browser, live_server, phone, college, make_log, travel):
    for n in range(6):  # 48 h of approved practice: certificate and allowance
        make_log(status="approved", hours="8", work_date=college_today() - timedelta(days=n))
    head = phone
    _sign_in(head, college.head)
    head.goto("/rewards/rounds")
    head.get_by_role("button", name="Open the round").tap()
    head.wait_for_url(re.compile(r"/rewards/rounds/\d+"))
    expect(head.get_by_text("Practice Certificate", exact=True)).to_be_visible()
    expect(head.get_by_text("Practice Allowance", exact=True)).to_be_visible()
    # 8 h over 40 h at 50.00 an hour
    expect(head.get_by_text("Bonus · 48 h · ¥400.00")).to_be_visible()

    approve = head.get_by_role("button", name=re.compile("^Approve"))
    for _ in range(approve.count()):
        with head.expect_navigation():
            approve.first.tap()
    expect(approve).to_have_count(0)
    # During the year the round is a preview: it cannot be finalized yet.
    opens = period_end(college.period).isoformat()
    expect(head.get_by_text(f"It can be finalized from {opens}")).to_be_visible()
    expect(head.get_by_role("button", name="Finalize and issue")).to_have_count(0)

    travel(period_end(college.period))  # the year is over
    head.reload()
    head.once("dialog", lambda dialog: dialog.accept())
    head.get_by_role("button", name="Finalize and issue").tap()
    expect(head.get_by_text("Certificate No. 2026-2027-CM-0001")).to_be_visible()
    # Each award's history opens on tap: proposed, approved, issued.
    history = head.locator("details.award-history").first
    history.locator("summary").tap()
    for step in ("Proposed", "Approved", "Issued"):
        expect(history.get_by_text(step, exact=True)).to_be_visible()

    payout = head.get_by_role("link", name="Payout sheet (CSV)").get_attribute("href")
    response = head.request.get(payout)
    assert response.ok
    assert response.body().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    assert college.teacher.name in response.body().decode("utf-8-sig")

    head.get_by_role("link", name="Certificate").first.tap()
    expect(head.locator("svg").first).to_be_visible()
    verify_url = re.search(r"/verify/[\w-]+", head.content()).group(0)

    visitor_context = browser.new_context(base_url=live_server, locale="en-US", **PHONE)
    visitor = visitor_context.new_page()
    visitor.goto(verify_url)
    expect(visitor.get_by_text("VALID")).to_be_visible()
    expect(visitor.get_by_text(college.teacher.name)).to_be_visible()
    assert college.teacher.email not in visitor.content()
    visitor_context.close()
