"""A real SMTP server for the tests that send email: aiosmtpd on a free loopback port, with
a login, keeping what it received (`inbox` is the fixture)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from conftest import free_port

SMTP_USER, SMTP_PASSWORD = "switchboard", "mail p@ss"


@dataclass
class Inbox:
    """What the mail server received, and the logins it accepted."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(bytes(envelope.content or b""), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        accepted = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if accepted:
            self.logins.append(data.login.decode())
        return AuthResult(success=accepted)

    @property
    def url(self) -> str:
        return f"smtp://{SMTP_USER}:mail%20p%40ss@127.0.0.1:{self.port}"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox(free_port())
    # Plain SMTP on loopback with a login, as a relay inside the network would take it.
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
