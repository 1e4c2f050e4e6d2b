"""The customer's transcript by email (issue 20.4): `request_transcript` sends the messages
the customer saw (never a note) through a real SMTP server (aiosmtpd), to the address it
gives or gave; bounded, and refused where the queue or the deployment sends none."""

from __future__ import annotations

from mail_server import Inbox, inbox  # noqa: F401 (the fixture)


async def chat_with_notes(sb):
    alice = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Where is order 4711?", customer={"name": "Ada", "email": "ada@example.com"})
    cid = started["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "It left the warehouse today."})
    await alice.ok({"type": "note", "conversation_id": cid, "text": "Customer sounded upset (internal)"})
    await customer.expect("message", text="It left the warehouse today.")
    return alice, customer, cid


async def test_the_transcript_arrives_by_email_without_the_notes(make_deployment, inbox: Inbox):
    sb = await make_deployment(smtp_url=inbox.url, smtp_from="Switchboard <chat@example.com>")
    await sb.queue("support")
    _, customer, _ = await chat_with_notes(sb)
    assert await customer.ok({"type": "request_transcript"}) == {
        "type": "ack",
        "ref": customer.frames[-1]["ref"],
        "emailed": True,
    }
    (mail,) = inbox.messages
    assert inbox.recipients == [["ada@example.com"]]
    assert mail["Subject"] == "Your conversation with Support" and mail["From"] == "Switchboard <chat@example.com>"
    body = mail.get_content()
    assert "Ada: Where is order 4711?" in body and "Alice: It left the warehouse today." in body
    assert "internal" not in body

    # To another address, then the limit
    await customer.ok({"type": "request_transcript", "email": "ada.home@example.org"})
    assert inbox.recipients[-1] == ["ada.home@example.org"]
    bad = await customer.request({"type": "request_transcript", "email": "not an address"})
    assert bad["code"] == "bad_request"
    await customer.ok({"type": "request_transcript"})
    limited = await customer.request({"type": "request_transcript"})
    assert limited["code"] == "rate_limited" and len(inbox.messages) == 3


async def test_refused_where_nothing_may_be_sent(make_deployment, inbox: Inbox):
    sb = await make_deployment(smtp_url=inbox.url)
    await sb.queue("support", send_transcript="never")
    _, customer, _ = await chat_with_notes(sb)
    assert (await customer.request({"type": "request_transcript"}))["code"] == "forbidden"
    nobody, _ = await sb.customer()
    assert (await nobody.request({"type": "request_transcript", "email": "a@example.com"}))["code"] == "conflict"
    assert inbox.messages == []


async def test_without_a_mail_server_the_customer_is_told(sb):
    _, customer, _ = await chat_with_notes(sb)
    refused = await customer.request({"type": "request_transcript"})
    assert refused["code"] == "unavailable" and "not set up" in refused["message"]
