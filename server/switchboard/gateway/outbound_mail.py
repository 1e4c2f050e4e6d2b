"""Email out: invitations and password resets, through the mail server of `SWITCHBOARD_SMTP_URL`.

`smtp://user:password@host:port` speaks SMTP and upgrades to TLS when the server
offers STARTTLS (aiosmtplib's default); `smtps://` speaks TLS from the first byte.
Sending never raises: a mail server that is down, slow or refuses the message is
a `MailOutcome` with the reason, so the admin gets the link to pass on instead.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

SCHEMES = {"smtp": (25, False), "smtps": (465, True)}


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps); else STARTTLS when offered
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> MailServer:
        """The mail server of an `smtp://` or `smtps://` URL; a SystemExit that says what is wrong otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise SystemExit("SWITCHBOARD_SMTP_URL must be smtp://[user:password@]host[:port] or smtps://...")
        default_port, tls = SCHEMES[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise SystemExit("SWITCHBOARD_SMTP_URL has a bad port") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


@dataclass(frozen=True)
class Mail:
    """A plain-text email to one person."""

    to_name: str
    to_address: str
    subject: str
    text: str


@dataclass(frozen=True)
class MailOutcome:
    sent: bool
    problem: str | None = None  # why it was not sent, in words for the admin


class Mailer:
    """Sends `Mail` through the configured server; without one, every outcome says so."""

    def __init__(self, server: MailServer | None, sender: str | None, timeout_s: float) -> None:
        self.server = server
        self.sender = sender
        self.timeout_s = timeout_s

    @classmethod
    def of(cls, url: str | None, sender: str | None, timeout_s: float) -> Mailer:
        return cls(MailServer.parse(url) if url else None, sender, timeout_s)

    @property
    def configured(self) -> bool:
        return self.server is not None

    def message(self, mail: Mail, sender_host: str) -> EmailMessage:
        """The email with its headers; raises ValueError for an address or name no header can carry."""
        message = EmailMessage()
        message["From"] = self.sender or str(Address("Switchboard", "no-reply", sender_host or "localhost"))
        message["To"] = str(Address(mail.to_name, addr_spec=mail.to_address))
        message["Subject"] = mail.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=sender_host or None)
        message.set_content(mail.text)
        return message

    async def send(self, mail: Mail, sender_host: str) -> MailOutcome:
        server = self.server
        if server is None:
            return MailOutcome(False, "no mail server is set up (SWITCHBOARD_SMTP_URL)")
        try:
            message = self.message(mail, sender_host)
        except (ValueError, TypeError) as exc:
            return MailOutcome(False, f"the email could not be written: {exc}")
        try:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.tls,
                timeout=self.timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError) as exc:
            return MailOutcome(False, f"the mail server {server.host}:{server.port} did not take it: {exc}")
        return MailOutcome(True)
