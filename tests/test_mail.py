"""E-mail: the outbox folder on a laptop, SMTP when a server is configured (SPEC §8)."""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_babel import lazy_gettext as _l

from exchange import mail
from exchange.accounts import reset
from tests.smtp import _free_port, smtp_server_fixture  # noqa: F401  (provides ``smtp_server``)


def outbox_files(app) -> set[Path]:
    folder = Path(app.instance_path) / "outbox"
    return set(folder.glob("*.eml")) if folder.exists() else set()


def read_eml(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_without_a_mail_server_each_message_is_an_eml_file_in_the_outbox(app, app_ctx, make_user):
    assert not app.config["MAIL_SERVER"]
    assert mail.outbox_folder() == Path(app.instance_path) / "outbox"
    first = make_user("teacher", email="wang.fang@example.com", name="Wang Fang")
    second = make_user("expert", locale="zh_Hans")
    before = outbox_files(app)

    reset.send_set_password_email(first)
    reset.send_set_password_email(second)

    written = sorted(outbox_files(app) - before, key=lambda p: p.stat().st_mtime_ns)
    assert len(written) == 2  # one file per message
    messages = {str(read_eml(path)["To"]): read_eml(path) for path in written}
    to_first = messages["Wang Fang <wang.fang@example.com>"]
    assert to_first["Subject"] == "Your Exchange account"
    assert to_first["Content-Language"] == "en"
    assert "/password/set/" in to_first.get_body(preferencelist=("plain",)).get_content()
    assert {m["Content-Language"] for m in messages.values()} == {"en", "zh-Hans"}
    assert not list((Path(app.instance_path) / "outbox").glob("*.part"))


def test_with_a_mail_server_messages_go_through_smtp(
    make_app,
    make_user,
    smtp_server,
):
    sending = make_app(**smtp_server.settings, EXCHANGE_BASE_URL="https://exchange.example.edu")
    user = make_user("teacher", name="Li Na", email="li.na@example.com")
    before = outbox_files(sending)
    with sending.app_context():
        mail.send_to_user(
            user,
            "invitation",
            _l("Your Exchange account"),
            url="https://exchange.example.edu/x",
            expires_at=datetime.now(UTC),
            institution="Exchange Medical College",
            login_url="https://exchange.example.edu/login",
        )
    [received] = smtp_server.wait_for(1)
    assert received.to == ["li.na@example.com"]
    assert received.header("To") == "Li Na <li.na@example.com>"
    # No sender configured: the institution, at a no-reply address of the base URL's host.
    assert received.header("From") == "Exchange Medical College <noreply@exchange.example.edu>"
    assert received.mail_from == "noreply@exchange.example.edu"
    assert received.header("Auto-Submitted") == "auto-generated"
    assert outbox_files(sending) == before  # sent, not written


def test_the_configured_sender_is_used(make_app, make_user, smtp_server):
    sending = make_app(**smtp_server.settings, MAIL_DEFAULT_SENDER="Personnel <hr@example.com>")
    user = make_user("teacher")
    with sending.app_context():
        reset.send_set_password_email(user)
    [received] = smtp_server.wait_for(1)
    assert received.header("From") == "Personnel <hr@example.com>"
    assert received.mail_from == "hr@example.com"


def test_a_failure_in_the_background_is_logged_not_raised(make_app, make_user, caplog):
    # Nothing listens on this port: the connection is refused.
    unreachable = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    user = make_user("teacher", email="lost@example.com")
    with unreachable.app_context(), caplog.at_level(logging.ERROR, logger="exchange.mail"):
        reset.send_set_password_email(user, background=True)
        mail.wait_for_background_mail()
    assert "Could not send an e-mail to" in caplog.text
    assert "lost@example.com" in caplog.text


def test_a_failure_in_the_foreground_is_raised(make_app, make_user):
    unreachable = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=_free_port())
    user = make_user("teacher")
    with unreachable.app_context(), pytest.raises(ConnectionRefusedError):
        reset.send_set_password_email(user)


@pytest.mark.parametrize(
    ("settings", "port"),
    [({}, 25), ({"MAIL_USE_TLS": True}, 587), ({"MAIL_USE_SSL": True}, 465),
     ({"MAIL_PORT": 2525}, 2525)],
)  # fmt: skip
def test_the_port_follows_the_encryption_unless_given(make_app, settings, port):
    configured = make_app(MAIL_SERVER="smtp.example.edu", **settings)
    state = configured.extensions["mailman"]
    assert state.port == port
    assert state.backend == "smtp"


def test_many_messages_share_one_connection(make_app, make_user, smtp_server):
    sending = make_app(**smtp_server.settings)
    people = [make_user("teacher") for _ in range(3)]
    with sending.app_context(), mail.connection() as smtp:
        for person in people:
            reset.send_set_password_email(person, connection=smtp)
    received = smtp_server.wait_for(3)
    assert sorted(m.to[0] for m in received) == sorted(p.email for p in people)
