"""The mail server's URL and the emails written from it (gateway/outbound_mail.py), without a network."""

from __future__ import annotations

import pytest

from switchboard.gateway.outbound_mail import Mail, Mailer, MailServer

MAIL = Mail(
    "Alice", "alice@example.com", "You are invited to Switchboard", "Hello Alice,\n\nhttps://x/password#token=t\n"
)


def test_smtp_urls_name_the_server_its_port_tls_and_login():
    assert MailServer.parse("smtp://mail.example.com") == MailServer("mail.example.com", 25, False, None, None)
    assert MailServer.parse("smtps://mail.example.com") == MailServer("mail.example.com", 465, True, None, None)
    assert MailServer.parse("smtp://sb%40example.com:p%3Ass@127.0.0.1:2525") == MailServer(
        "127.0.0.1", 2525, False, "sb@example.com", "p:ss"
    )


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25", "smtp://h:port"])
def test_other_urls_stop_the_node_with_a_reason(url):
    with pytest.raises(SystemExit, match="SWITCHBOARD_SMTP_URL"):
        MailServer.parse(url)


def test_the_email_is_plain_text_with_its_headers():
    message = Mailer.of("smtp://h", "Switchboard <chat@example.com>", 5).message(MAIL, "chat.example.com")
    assert message["From"] == "Switchboard <chat@example.com>" and message["To"] == "Alice <alice@example.com>"
    assert message["Subject"] == MAIL.subject and message["Date"]
    assert message["Message-ID"].endswith("@chat.example.com>")
    assert message.get_content_type() == "text/plain" and not message.is_multipart()
    assert message.get_content() == MAIL.text
    default_sender = Mailer.of("smtp://h", None, 5).message(MAIL, "chat.example.com")
    assert default_sender["From"] == "Switchboard <no-reply@chat.example.com>"


async def test_what_no_header_can_carry_is_not_sent_and_says_why():
    mailer = Mailer.of("smtp://127.0.0.1:9", None, 5)
    outcome = await mailer.send(Mail("Eve\r\nBcc: all@example.com", "eve@example.com", "Hi", "text"), "x.example")
    assert not outcome.sent and outcome.problem and "could not be written" in outcome.problem
    unset = await Mailer.of(None, None, 5).send(MAIL, "x.example")
    assert not unset.sent and unset.problem and "SWITCHBOARD_SMTP_URL" in unset.problem
