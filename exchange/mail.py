"""E-mail to people, in their own language (SPEC §8).

Flask-Mailman sends through the SMTP server named by the ``MAIL_*`` settings.
With no ``MAIL_SERVER`` (a laptop, the tests' default) nothing leaves the
machine: each message is written as one ``.eml`` file to ``<instance>/outbox/``,
which any mail program opens. Every message is rendered in the recipient's
language (``user.locale``), whatever the language of the person or page that
caused it.

Templates live in ``templates/mail/``: ``<name>.txt`` is the message, and an
optional ``<name>.html`` beside it becomes its HTML alternative.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import formataddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask, current_app, render_template
from flask_mailman import EmailMessage, EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend
from jinja2 import TemplateNotFound

from exchange.extensions import mailman
from exchange.i18n import in_language


class Recipient(Protocol):
    """Whom a message goes to (an account; mail knows nothing else of accounts)."""

    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def locale(self) -> str | None: ...


log = logging.getLogger(__name__)

OUTBOX_BACKEND = "exchange.mail.OutboxEmailBackend"

# Content-Language values (RFC 3282 takes BCP 47 tags, not gettext's underscores).
LANGUAGE_TAGS = {"en": "en", "zh_Hans": "zh-Hans"}


class OutboxEmailBackend(BaseEmailBackend):
    """Writes every message as its own ``.eml`` file instead of sending it.

    Flask-Mailman's ``file`` backend appends all the messages of a connection to
    one log file; one file per message opens directly in a mail program.
    """

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.folder = Path(file_path or self.mailman.file_path)

    def send_messages(self, email_messages: Iterable[EmailMessage]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            path = self.folder / f"{stamp}-{secrets.token_hex(4)}.eml"
            # Written under another name and renamed: a reader never sees half a message.
            partial = path.with_suffix(".part")
            partial.write_bytes(message.message().as_bytes(linesep="\r\n"))
            partial.replace(path)
            sent += 1
        return sent


def init_app(app: Flask) -> None:
    """Bind Flask-Mailman to ``app`` and choose how messages leave.

    What is derived here (backend, port, sender) stays out of ``app.config``, so
    an app made from another one's settings with ``MAIL_SERVER`` changed derives
    it anew.
    """
    mailman.init_app(app)
    state = app.extensions["mailman"]
    config = app.config
    if not config.get("MAIL_BACKEND"):
        state.backend = "smtp" if config.get("MAIL_SERVER") else OUTBOX_BACKEND
    if not config.get("MAIL_PORT"):
        state.port = (
            465 if config.get("MAIL_USE_SSL") else 587 if config.get("MAIL_USE_TLS") else 25
        )
    state.default_sender = config.get("MAIL_DEFAULT_SENDER") or _default_sender(app)
    if config["EXCHANGE_ENV"] == "production" and state.backend == OUTBOX_BACKEND:
        app.logger.warning(
            "MAIL_SERVER is not set: e-mails (password resets, invitations) are written to "
            "%s and not sent.",
            state.file_path,
        )


def _default_sender(app: Flask) -> str:
    """The institution's name at a no-reply address of the app's own host."""
    host = urlsplit(app.config.get("EXCHANGE_BASE_URL") or "").hostname or "localhost"
    return formataddr((str(app.config["EXCHANGE_INSTITUTION"]), f"noreply@{host}"))


def outbox_folder() -> Path:
    """Where messages go when no mail server is configured."""
    return Path(current_app.extensions["mailman"].file_path)


def message_to(
    user: Recipient, template: str, subject: Any, **context: Any
) -> EmailMultiAlternatives:
    """A message to ``user`` rendered in their language (English when they chose none).

    ``subject`` is usually a lazy string (``_l("…")``): it is translated here, in the
    recipient's language. ``template`` names ``templates/mail/<template>.txt``; the
    templates see ``user`` and ``context``.
    """
    locale = user.locale or "en"
    with in_language(locale):
        subject_text = str(subject)
        body = render_template(f"mail/{template}.txt", user=user, **context)
        try:
            html = render_template(f"mail/{template}.html", user=user, **context)
        except TemplateNotFound:
            html = None
    message = EmailMultiAlternatives(
        subject=subject_text,
        body=body,
        to=[formataddr((user.name, user.email))],
        headers={
            "Content-Language": LANGUAGE_TAGS.get(locale, locale),
            # RFC 3834: auto-responders do not answer it.
            "Auto-Submitted": "auto-generated",
        },
    )
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message


def connection() -> BaseEmailBackend:
    """One connection for many messages, opened once (not an SMTP session each)::

    with mail.connection() as smtp:
        for person in people:
            send_set_password_email(person, connection=smtp)
    """
    backend: BaseEmailBackend = mailman.get_connection()
    return backend


def send(
    message: EmailMessage,
    *,
    background: bool = False,
    connection: BaseEmailBackend | None = None,
) -> None:
    """Send ``message`` now (over ``connection`` if given), or (``background``) from a
    thread once the caller moves on.

    In the background, a failure is logged, not raised: the person who asked has
    already been answered, and the answer must not depend on the mail server (for a
    password reset it must not even depend on whether the account exists).
    """
    if not background:
        if connection is not None:
            message.connection = connection
        message.send()
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(target=_send_in_background, args=(app, message), daemon=False)
    with _lock:
        _outgoing.add(thread)
    thread.start()


def send_to_user(
    user: Recipient,
    template: str,
    subject: Any,
    *,
    background: bool = False,
    connection: BaseEmailBackend | None = None,
    **context: Any,
) -> None:
    """Render ``template`` for ``user`` in their language and send it (see ``send``)."""
    message = message_to(user, template, subject, **context)
    send(message, background=background, connection=connection)


_lock = threading.Lock()
_outgoing: set[threading.Thread] = set()


def _send_in_background(app: Flask, message: EmailMessage) -> None:
    try:
        with app.app_context():
            message.send()
    except Exception:
        log.exception("Could not send an e-mail to %s", ", ".join(message.recipients()))
    finally:
        with _lock:
            _outgoing.discard(threading.current_thread())


def wait_for_background_mail(timeout: float = 10.0) -> None:
    """Wait until the messages sent in the background so far have left (or failed).

    For tests, and for commands that exit right after sending.
    """
    with _lock:
        pending = list(_outgoing)
    for thread in pending:
        thread.join(timeout)
