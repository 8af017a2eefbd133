"""The issue's promise, in a real browser at phone size.

A teacher logs a practice entry in a few taps and shows the QR code; the
enterprise supervisor opens it on their own phone without an account and
confirms; the head approves it from the queue (one more tap for its flag); the
timeline shows all of it.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from tests.conftest import PASSWORD
from tests.e2e.conftest import PHONE
from tests.e2e.test_phone_layout import LAYOUT_PROBLEMS


def _sign_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    page.wait_for_url("**/")


def test_log_confirm_on_site_approve(browser, live_server, phone, college):
    teacher = phone
    _sign_in(teacher, college.teacher)

    # One tap from anywhere to the form; today, the enterprise and the category are set.
    teacher.get_by_role("navigation", name="Main").get_by_role("link", name="Log hours").tap()
    teacher.get_by_role("button", name="4 h").tap()
    expect(teacher.get_by_label("Hours")).to_have_value("4")
    teacher.get_by_label("Enterprise").select_option(label=college.enterprise.name)
    teacher.get_by_label("Category").select_option(index=1)
    teacher.get_by_label("What did you do?").fill("Night shift in the emergency department")
    teacher.get_by_label("Who confirms it").select_option(index=0)  # on-site confirmation
    teacher.get_by_role("button", name="Submit for verification").tap()
    teacher.wait_for_url(re.compile(r"/logs/\d+$"))
    log_url = teacher.url

    # The owner shows the QR code; its link is what the supervisor's phone opens.
    teacher.get_by_role("button", name="Show QR code for on-site confirmation").tap()
    expect(teacher.locator(".qr svg")).to_be_visible()
    link = teacher.get_by_label("Or send them this link").input_value()
    assert link.startswith(live_server)
    # Its page has its own address: a reload shows the code again (still the same one).
    assert teacher.url.endswith("/confirmation")
    teacher.reload()
    expect(teacher.locator(".qr svg")).to_be_visible()
    # "Copy link" puts the link on the clipboard for a chat message.
    teacher.context.grant_permissions(["clipboard-read", "clipboard-write"])
    teacher.get_by_role("button", name="Copy link").tap()
    expect(teacher.get_by_role("button", name="Copied")).to_be_visible()
    copied = teacher.evaluate("navigator.clipboard.readText()")
    assert copied == teacher.get_by_label("Or send them this link").input_value()
    assert teacher.evaluate(LAYOUT_PROBLEMS) == []

    supervisor_context = browser.new_context(base_url=live_server, locale="en-US", **PHONE)
    supervisor = supervisor_context.new_page()
    supervisor.goto(link)
    expect(supervisor.get_by_text("Night shift in the emergency department")).to_be_visible()
    supervisor.get_by_label("Your name").fill("Dr. Qian Hong")
    supervisor.get_by_label("Your job title").fill("Head nurse, emergency")
    supervisor.get_by_role("button", name="Confirm").tap()
    expect(supervisor.get_by_role("heading", level=1)).to_contain_text("Thank you")
    supervisor.goto(link)  # single use
    expect(supervisor.get_by_role("heading", level=1)).not_to_contain_text("Confirm")
    supervisor_context.close()

    # The head approves it from the queue.
    head_context = browser.new_context(base_url=live_server, locale="en-US", **PHONE)
    head = head_context.new_page()
    _sign_in(head, college.head)
    head.get_by_role("link", name=re.compile("To do")).tap()
    head.wait_for_url("**/logs/approve")
    head.get_by_label(re.compile(college.teacher.name)).check()
    head.get_by_role("button", name="Approve selected").first.tap()
    # Here every phone shares one address, so the confirmation came "from the owner's
    # network": the flag is shown, and approving it takes one more tap.
    expect(head.get_by_role("heading", level=1)).to_have_text("Approve a flagged log?")
    expect(head.locator("[data-flag=self_confirmed]")).to_contain_text(
        "Confirmed on site from the owner's own browser or network"
    )
    head.get_by_role("button", name="Approve anyway").tap()
    expect(head.get_by_text("1 log approved.")).to_be_visible()
    head_context.close()

    # The owner's timeline shows every step, with the supervisor's typed name.
    teacher.goto(log_url)
    timeline = teacher.locator("ol, ul").filter(has_text="Dr. Qian Hong")
    expect(timeline).to_contain_text("Head nurse, emergency")
    expect(timeline).to_contain_text(college.head.name)
    expect(timeline).to_contain_text(college.teacher.name)

    db.session.expire_all()
    log = db.session.execute(select(ExchangeLog)).scalar_one()
    assert log.status == "approved"
    assert log.minutes == 240
    assert [e.action for e in log.events] == ["create", "submit", "verify", "approve"]
    assert log.events[2].actor_id is None


def test_a_rejected_log_greets_its_owner_with_the_reason(phone, college, make_log):
    """The home page's card of work to fix: the reason first; its log page opens with it."""
    rejected = make_log(status="rejected", hours="6")
    _sign_in(phone, college.teacher)
    card = phone.locator("section.card").filter(has_text="Needs your attention")
    expect(card).to_be_visible()
    expect(card.get_by_role("link")).to_contain_text("Rejected: Not as described")
    assert phone.evaluate(LAYOUT_PROBLEMS) == []
    card.get_by_role("link").tap()
    phone.wait_for_url(f"**/logs/{rejected.id}")
    first = phone.locator("main .card").first
    expect(first.get_by_role("note")).to_contain_text("Not as described")


def test_the_code_page_shares_its_link_through_the_phones_share_sheet(phone, college, make_log):
    """Where the browser has the Web Share API, "Share…" hands the link to the phone's
    share sheet (recorded here in place of the sheet)."""
    log = make_log(status="submitted")
    phone.add_init_script(
        "navigator.share = (data) => { window.shared = data; return Promise.resolve(); };"
    )
    _sign_in(phone, college.teacher)
    phone.goto(f"/logs/{log.id}")
    phone.get_by_role("button", name="Show QR code for on-site confirmation").tap()
    phone.get_by_role("button", name="Share…").tap()
    shared = phone.evaluate("window.shared")
    assert shared["url"] == phone.get_by_label("Or send them this link").input_value()
    assert shared["url"].startswith(phone.url.split("/logs/")[0] + "/confirm/")
