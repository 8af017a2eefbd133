"""A real SMTP server for tests: aiosmtpd on a free port of 127.0.0.1.

Messages go through smtplib, the network and an SMTP conversation, exactly as to
a college's mail server; the server keeps what it receives for the test to read.

Use it from a test module (no conftest needed)::

    from tests.smtp import smtp_server_fixture  # noqa: F401  (provides ``smtp_server``)

    def test_invitation_arrives(smtp_server, make_app, make_user):
        app = make_app(**smtp_server.settings)  # an app that sends to this server
        ...
        [mail] = smtp_server.wait_for(1)        # waits for background sends too
        assert mail.to == ["someone@example.com"]
        assert "http" in mail.text

``smtp_server.messages`` lists what arrived so far; ``wait_for(n)`` waits (without
sleeping) until ``n`` messages have arrived, and fails after a timeout. Addresses
added to ``smtp_server.refused`` are refused at ``RCPT TO`` (550), as a server
refuses an unknown mailbox.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class ReceivedMail:
    """One message as the server received it: envelope and parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def to(self) -> list[str]:
        return self.rcpt_tos

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The plain-text body, decoded."""
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "the message has no text/plain part"
        return str(part.get_content())

    @property
    def html(self) -> str | None:
        part = self.message.get_body(preferencelist=("html",))
        return None if part is None else str(part.get_content())

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def settings(self) -> dict[str, Any]:
        """The app settings that send to this server (for ``make_app(**settings)``)."""
        return {
            "MAIL_SERVER": self.host,
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_USE_SSL": False,
            "MAIL_USERNAME": None,
            "MAIL_PASSWORD": None,
        }

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedMail]:
        """The first ``count`` messages, once they have arrived."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        assert arrived, f"expected {count} message(s), {len(self.messages)} arrived"
        return self.messages[:count]

    def to(self, address: str) -> list[ReceivedMail]:
        """The messages received for ``address`` so far."""
        return [m for m in self.messages if address in m.rcpt_tos]

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()

    # aiosmtpd calls these (in its own thread) for every recipient and every message.
    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.refused:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed)
        with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(name="smtp_server")
def smtp_server_fixture() -> Iterator[SmtpServer]:
    """A running SMTP server on 127.0.0.1 that keeps every message it receives."""
    server = SmtpServer(HOST, _free_port())
    controller = Controller(server, hostname=HOST, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


# The same fixture under its own name, for ``from tests.smtp import smtp_server``
# (ruff then flags each test parameter of that name as a redefinition, F811;
# importing ``smtp_server_fixture`` avoids that).
smtp_server = smtp_server_fixture
