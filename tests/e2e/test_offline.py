"""Offline in a real browser at phone size: the service worker keeps what a person
saw, "Log hours" works without a network, and each entry arrives exactly once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

from exchange.extensions import db
from exchange.logs.models import ExchangeLog
from tests.conftest import PASSWORD
from tests.e2e.test_phone_layout import LAYOUT_PROBLEMS

# A real (tiny) PNG: a 1×1 white pixel.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415408d763f8ffff3f0005fe02fea7d6a4a90000000049454e44ae426082"
)


def _sign_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    page.wait_for_url("**/")


def _worker_in_control(page) -> None:
    """Wait until the service worker controls the page and has kept the session's pages."""
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    page.wait_for_function(
        """async () => {
            const names = (await caches.keys()).filter(n => n.startsWith("pages-"));
            if (names.length !== 1) return false;
            const kept = await (await caches.open(names[0])).keys();
            return ["/", "/logs/new", "/logs/"].every(
                path => kept.some(request => new URL(request.url).pathname === path));
        }"""
    )


def _settle(page) -> None:
    """Let the sending that coming back online started finish (the page's and the
    worker's), before the test reads the database and the tables are emptied."""
    page.wait_for_function("async () => (await ExchangeOutbox.all()).length === 0")
    page.goto("/logs/")
    page.wait_for_load_state("networkidle")


def _logs(description: str) -> list[ExchangeLog]:
    db.session.expire_all()
    return list(
        db.session.scalars(select(ExchangeLog).where(ExchangeLog.description == description))
    )


def _log_offline(page, college, description: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log hours").tap()
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    page.get_by_role("button", name="2 h").tap()
    page.get_by_label("Enterprise").select_option(label=college.enterprise.name)
    page.get_by_label("Category").select_option(index=1)
    page.get_by_label("What did you do?").fill(description)
    page.get_by_role("button", name="Submit for verification").tap()
    page.wait_for_url(re.compile(r"/logs/$"))


def test_an_entry_made_offline_arrives_exactly_once(phone, college):
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)

    page.context.set_offline(True)
    _log_offline(page, college, "Airway training in the basement ward")
    expect(page.get_by_text("Saved on this phone")).to_be_visible()
    waiting = page.locator("[data-outbox]")
    expect(waiting).to_contain_text("Airway training in the basement ward")
    expect(waiting).to_contain_text("Waiting to send")
    assert _logs("Airway training in the basement ward") == []

    # A reload with no network loses nothing.
    page.reload()
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    expect(waiting).to_contain_text("Airway training in the basement ward")

    # A second entry with a photo, and the first is not sent twice for it.
    _log_offline(page, college, "Suturing workshop, photo of the sign-in sheet")
    expect(waiting.locator("li")).to_have_count(2)

    page.context.set_offline(False)
    # Back online, the page sends what waits, then shows it among the logs.
    expect(page.locator(".list a, .list").filter(has_text="Airway training")).to_be_visible()
    expect(waiting).to_be_hidden()
    _settle(page)
    [log] = _logs("Airway training in the basement ward")
    assert log.status == "submitted"
    assert log.minutes == 120
    assert len(_logs("Suturing workshop, photo of the sign-in sheet")) == 1

    # Later page loads find nothing left to send: still one log each.
    page.goto("/logs/")
    page.goto("/logs/new")
    page.goto("/logs/")
    expect(page.get_by_text("Airway training in the basement ward")).to_have_count(1)
    assert len(_logs("Airway training in the basement ward")) == 1


def test_an_offline_photo_waits_with_its_entry(phone, college):
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.context.set_offline(True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log hours").tap()
    page.get_by_label("Hours").fill("1")
    page.get_by_label("Enterprise").select_option(label=college.enterprise.name)
    page.get_by_label("Category").select_option(index=1)
    page.get_by_label("What did you do?").fill("Wound care round with photo")
    too_big = {"name": "huge.png", "mimeType": "image/png", "buffer": PIXEL + b"\0" * (5 << 20)}
    page.get_by_label("Evidence (photo or PDF, optional)").set_input_files(too_big)
    expect(page.get_by_role("alert")).to_contain_text("larger than 5 MB")
    assert page.get_by_label("Evidence (photo or PDF, optional)").input_value() == ""
    page.get_by_label("Evidence (photo or PDF, optional)").set_input_files(
        {"name": "sheet.png", "mimeType": "image/png", "buffer": PIXEL}
    )
    page.get_by_role("button", name="Save draft").tap()
    page.wait_for_url(re.compile(r"/logs/$"))
    expect(page.locator("[data-outbox]")).to_contain_text("Wound care round with photo")

    page.context.set_offline(False)
    expect(page.locator("[data-outbox]")).to_be_hidden()
    _settle(page)
    [log] = _logs("Wound care round with photo")
    assert log.status == "draft"
    assert log.evidence_name == "sheet.png"


def test_a_refused_entry_stays_with_its_reason_until_discarded(phone, college):
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.context.set_offline(True)
    _log_offline(page, college, "Rounds logged before the year was closed")

    # Meanwhile the college locks the period.
    college.period.state = "locked"
    db.session.commit()
    page.context.set_offline(False)

    entry = page.locator("[data-outbox] li")
    expect(entry).to_contain_text("Not accepted:")
    reason = f"Date: This date lies in the locked period {college.period.name}"
    expect(entry).to_contain_text(reason)
    page.reload()
    expect(entry).to_contain_text("Not accepted:")
    assert _logs("Rounds logged before the year was closed") == []

    # Opened again, the form holds what was typed and says what to correct.
    entry.get_by_role("link", name="Open to fix").tap()
    expect(page.get_by_label("What did you do?")).to_have_value(
        "Rounds logged before the year was closed"
    )
    expect(page.locator(".field--error, .field").filter(has_text="locked period")).to_be_visible()
    page.go_back()

    page.once("dialog", lambda dialog: dialog.accept())
    entry.get_by_role("button", name="Discard").tap()
    expect(page.locator("[data-outbox]")).to_be_hidden()
    page.reload()
    expect(page.locator("[data-outbox]")).to_be_hidden()
    assert _logs("Rounds logged before the year was closed") == []


def test_a_fixed_entry_is_sent_once(phone, college):
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.context.set_offline(True)
    _log_offline(page, college, "Night shift, typed on the bus")
    college.period.state = "locked"
    db.session.commit()
    page.context.set_offline(False)
    expect(page.locator("[data-outbox] li")).to_contain_text("Not accepted:")

    college.period.state = "open"
    db.session.commit()
    page.locator("[data-outbox] li").get_by_role("link", name="Open to fix").tap()
    page.get_by_role("button", name="Submit for verification").tap()
    page.wait_for_url(re.compile(r"/logs/\d+$"))
    page.goto("/logs/")
    expect(page.locator("[data-outbox]")).to_be_hidden()
    _settle(page)
    assert len(_logs("Night shift, typed on the bus")) == 1


def test_a_page_seen_before_opens_offline_with_its_actions_held(phone, college, make_log):
    log = make_log(status="submitted", description="Cardiology ward rounds")
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.goto(f"/logs/{log.id}")
    expect(page.get_by_role("button", name="Withdraw")).to_be_enabled()

    page.context.set_offline(True)
    page.goto("/")
    page.goto(f"/logs/{log.id}")
    expect(page.get_by_text("Offline — showing what you saw last.")).to_be_visible()
    expect(page.get_by_text("Cardiology ward rounds")).to_be_visible()
    expect(page.get_by_role("button", name="Withdraw")).to_be_disabled()
    expect(page.locator(".foot button")).to_be_disabled()  # the language: a post too

    # Back online, a kept page offers a reload (its forms carry an old token).
    page.context.set_offline(False)
    expect(page.get_by_role("status").filter(has_text="Back online.")).to_be_visible()
    page.get_by_role("link", name="Reload").tap()
    expect(page.get_by_role("button", name="Withdraw")).to_be_enabled()

    # Signing out forgets the session's pages.
    page.goto("/account")
    page.get_by_role("button", name="Sign out").tap()
    page.wait_for_url("**/login")
    page.wait_for_function(
        "async () => (await caches.keys()).every(name => !name.startsWith('pages-'))"
    )
    page.context.set_offline(True)
    with pytest.raises(PlaywrightError):
        page.goto(f"/logs/{log.id}")


def test_entries_of_another_person_are_neither_shown_nor_sent(phone, college):
    """An entry left on a shared phone by someone else (another owner) stays theirs."""
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.goto("/logs/")
    page.evaluate(
        """async () => {
            await ExchangeOutbox.put({
                clientId: "6f1c3d52-6a43-4c55-9d5e-3d5f7f1f7a01", owner: "someone-else",
                fields: [["date", "2026-12-01"], ["hours", "2"], ["description", "Not mine"],
                         ["client_id", "6f1c3d52-6a43-4c55-9d5e-3d5f7f1f7a01"]],
                file: null, status: "waiting", errors: [], savedAt: Date.now()
            });
            await ExchangeOutbox.sendWaiting();
        }"""
    )
    page.reload()
    expect(page.locator("[data-outbox]")).to_be_hidden()
    expect(page.get_by_text("Not mine")).to_have_count(0)
    assert _logs("Not mine") == []
    left = page.evaluate("async () => (await ExchangeOutbox.all()).length")
    assert left == 1


def test_waiting_entries_and_the_banner_fit_a_phone(phone, college):
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.context.set_offline(True)
    _log_offline(page, college, "A long description " * 20)
    expect(page.locator("[data-outbox] li")).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
    assert page.evaluate(LAYOUT_PROBLEMS) == []


def test_the_same_entry_kept_twice_is_one_entry_and_another_gets_its_own_id(phone, college):
    """What the worker does with each post of "Log hours" that cannot reach the server:
    the same post again (a retry, a second tap) stays one entry; a different entry
    posted with the same client_id (the form reached again with Back) gets a new one."""
    page = phone
    _sign_in(page, college.teacher)
    _worker_in_control(page)
    page.goto("/logs/")
    ids = page.evaluate(
        """async () => {
            const form = (description) => {
                const data = new FormData();
                data.append("client_id", "0b7c6d1e-1f2a-4b3c-8d4e-5f6a7b8c9d0e");
                data.append("hours", "2");
                data.append("description", description);
                return data;
            };
            await ExchangeOutbox.keep(form("Ward rounds"));
            await ExchangeOutbox.keep(form("Ward rounds"));
            const once = (await ExchangeOutbox.all()).map(e => e.clientId);
            await ExchangeOutbox.keep(form("Clinic hours"));
            const twice = (await ExchangeOutbox.all()).map(e => e.clientId);
            return {once, twice};
        }"""
    )
    assert ids["once"] == ["0b7c6d1e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"]
    assert len(set(ids["twice"])) == 2
    assert "0b7c6d1e-1f2a-4b3c-8d4e-5f6a7b8c9d0e" in ids["twice"]
