"""The customer's earlier conversations by the same verified email (issue 20.5):
`GET /api/v1/conversations?email=`, over real sockets, Redis and PostgreSQL. Only a session
whose contact was verified counts; an agent sees them when it served that customer (as the
visitor and external_id filters), and may then open them as the customer's context."""

from __future__ import annotations

from typing import Any

from support import Client


async def served_chat(sb: Any, agent: Client, customer: Client, text: str, verify: str | None = None) -> str:
    """A chat the agent takes (and, given `verify`, whose email it verifies) and ends."""
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": text}))["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    if verify is not None:
        await agent.ok({"type": "verify_contact", "conversation_id": cid, "email": verify})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    return cid


async def ids(sb: Any, query: str, token: str | None = None) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = await sb.http.get(f"/api/v1/conversations?{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [card["conversation_id"] for card in answer.json()["conversations"]]


async def test_earlier_conversations_by_the_same_verified_email(sb):
    await sb.queue("support")
    alice_token = await sb.agent("alice")
    alice, _ = await sb.agent_socket(alice_token)
    await alice.ok({"type": "set_state", "state": "available"})

    # Dana on her laptop (verified by alice), then on her phone: another visitor, verified again.
    laptop, _ = await sb.customer()
    first = await served_chat(sb, alice, laptop, "My parcel is late", verify="Dana@Example.com")
    # Someone who only typed the same address in: never verified, never listed.
    stranger, _ = await sb.customer()
    typed = await stranger.ok({"type": "start_chat", "queue": "support", "customer": {"email": "dana@example.com"}})
    offer = await alice.expect("offer", conversation_id=typed["conversation_id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "end_session", "conversation_id": typed["conversation_id"]})
    await alice.ok({"type": "set_state", "state": "not_ready"})

    bob_token = await sb.agent("bob")
    bob, _ = await sb.agent_socket(bob_token)
    await bob.ok({"type": "set_state", "state": "available"})
    phone, _ = await sb.customer()
    second = await served_chat(sb, bob, phone, "Me again", verify="dana@example.com")
    await sb.archive_caught_up()

    assert await ids(sb, "email=DANA%40example.com") == [second, first]
    assert typed["conversation_id"] not in await ids(sb, "email=dana%40example.com")
    assert await ids(sb, "email=nobody%40example.com") == []

    # Bob served Dana (on her phone): her laptop's conversation is her context for him, as
    # the desk's "Earlier conversations" asks for it; carol, who never served her, sees none.
    assert await ids(sb, "email=dana%40example.com", bob_token) == [second, first]
    as_bob = {"Authorization": f"Bearer {bob_token}"}
    assert (await sb.http.get(f"/api/v1/conversations/{first}", headers=as_bob)).status_code == 200
    carol_token = await sb.agent("carol")
    assert await ids(sb, "email=dana%40example.com", carol_token) == []
    as_carol = {"Authorization": f"Bearer {carol_token}"}
    assert (await sb.http.get(f"/api/v1/conversations/{first}", headers=as_carol)).status_code == 403


async def test_a_bad_email_filter_is_a_400(sb):
    for email in ("not an address", "x" * 250 + "@example.com", "dana\x00@example.com"):
        answer = await sb.http.get("/api/v1/conversations", params={"email": email})
        assert answer.status_code == 400, email
        assert answer.json()["error"]["code"] == "bad_request"
