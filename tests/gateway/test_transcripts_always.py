"""A queue that sends the transcript by itself (issue 20.4, `send_transcript: "always"`):
at the end of the chat it goes, through a real SMTP server (aiosmtpd), to the email the
customer gave (in start_chat, verified by the agent, or in the queue's pre-chat email
field), once; nothing goes without an address, nor from an "on_request" queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mail_server import Inbox, inbox  # noqa: F401 (the fixture)

from support import Client, eventually


def holds(predicate: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """A probe for `eventually`: whether the inbox holds what `predicate` looks for."""

    async def probe() -> bool:
        return predicate()

    return probe


async def served(sb: Any, alice: Client, client: Client, **start: Any) -> str:
    """A chat alice takes, answers and ends; its conversation id."""
    started = await client.ok({"type": "start_chat", "queue": "support", "text": "Where is order 4711?", **start})
    cid = started["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer", conversation_id=cid))["offer_id"]})
    await client.expect("chat.connected")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "It left the warehouse today."})
    await alice.ok({"type": "note", "conversation_id": cid, "text": "internal only"})
    return cid


async def test_the_transcript_goes_by_itself_at_the_end_of_the_chat(make_deployment, inbox: Inbox):
    sb = await make_deployment(smtp_url=inbox.url, smtp_from="Switchboard <chat@example.com>")
    email_field = {"name": "contact", "label": "Your email", "type": "email"}
    await sb.queue("support", send_transcript="always", prechat_fields=[email_field])
    alice = await sb.available_agent("alice", capacity=10)

    ada, _ = await sb.customer()
    cid = await served(sb, alice, ada, customer={"name": "Ada", "email": "ada@example.com"})
    assert inbox.messages == []  # not while the chat goes on
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await eventually(holds(lambda: len(inbox.messages) == 1))
    (mail,) = inbox.messages
    assert inbox.recipients == [["ada@example.com"]]
    assert mail["Subject"] == "Your conversation with Support"
    body = mail.get_content()
    assert "Ada: Where is order 4711?" in body and "Alice: It left the warehouse today." in body
    assert "internal only" not in body

    # The pre-chat form's email field counts too; the customer ending the chat sends it as well.
    bea, _ = await sb.customer()
    await served(sb, alice, bea, attributes={"contact": "bea@example.org"})
    await bea.ok({"type": "end_chat"})
    await eventually(holds(lambda: ["bea@example.org"] in inbox.recipients))

    # An email the agent verified during the chat.
    cy, _ = await sb.customer()
    cy_chat = await served(sb, alice, cy)
    await alice.ok({"type": "verify_contact", "conversation_id": cy_chat, "email": "cy@example.net"})
    await alice.ok({"type": "end_session", "conversation_id": cy_chat})
    await eventually(holds(lambda: ["cy@example.net"] in inbox.recipients))

    # Without any address nothing goes; and each transcript went once.
    nobody, _ = await sb.customer()
    silent = await served(sb, alice, nobody)
    await alice.ok({"type": "end_session", "conversation_id": silent})
    last, _ = await sb.customer()
    await alice.ok(
        {"type": "end_session", "conversation_id": await served(sb, alice, last, customer={"email": "z@example.com"})}
    )
    await eventually(holds(lambda: ["z@example.com"] in inbox.recipients))
    assert len(inbox.messages) == 4


async def test_an_on_request_queue_sends_nothing_by_itself(make_deployment, inbox: Inbox):
    sb = await make_deployment(smtp_url=inbox.url)
    await sb.queue("support")  # send_transcript: "on_request", the default
    await sb.queue("always", send_transcript="always")
    alice = await sb.available_agent("alice", queues=["support", "always"], capacity=2)
    ada, _ = await sb.customer()
    cid = await served(sb, alice, ada, customer={"email": "ada@example.com"})
    await alice.ok({"type": "end_session", "conversation_id": cid})
    # A chat of the "always" queue that ended after it went: its mail is the only one.
    bo, _ = await sb.customer()
    started = await bo.ok(
        {"type": "start_chat", "queue": "always", "text": "Hi", "customer": {"email": "bo@example.com"}}
    )
    other = started["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer", conversation_id=other))["offer_id"]})
    await alice.ok({"type": "end_session", "conversation_id": other})
    await eventually(holds(lambda: len(inbox.messages) == 1))
    assert inbox.recipients == [["bo@example.com"]]
