"""After-contact work: the queue's default wrap-up code, several codes, notes, the state after the wrap-up,
notes after the end and when the slot is freed."""

from __future__ import annotations

from typing import Any

CODES = [
    {"code": "resolved", "label": "Resolved"},
    {"code": "follow_up", "label": "Needs follow-up"},
    {"code": "refund", "label": "Refund"},
]


async def ended_chat(sb: Any, aid: str = "alice", **agent: Any) -> tuple[Any, str]:
    """`aid` served a chat of `support` that it then ended: it is in wrap-up. Returns its socket and the conversation."""
    client = await sb.available_agent(aid, **agent)
    _customer, started = await sb.chat()
    offer = await client.expect("offer")
    await client.ok({"type": "accept", "offer_id": offer["offer_id"]})
    cid = started["conversation_id"]
    await client.ok({"type": "end_session", "conversation_id": cid})
    await client.expect("chat.ended", conversation_id=cid)
    return client, cid


async def test_a_wrap_up_that_runs_out_gets_the_default_code(sb):
    await sb.queue("support", wrap_up_timeout_s=0.3, wrap_up_codes=CODES, default_wrap_up_code="follow_up")
    agent, cid = await ended_chat(sb, capacity=1)
    closed = await agent.expect("conversation.closed", conversation_id=cid, timeout=5)
    assert closed["wrap_up"] == {"code": "follow_up", "label": "Needs follow-up"}
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status_label"] == "Needs follow-up" and detail["card"]["color"] == "gray"
    events = (await sb.admin("GET", "/api/v1/events"))["events"]
    assert [e["code"] for e in events if e["type"] == "session.wrapped_up"] == ["follow_up"]


async def test_the_default_wrap_up_code_must_be_one_of_the_codes(sb):
    answer = await sb.http.put(
        "/api/v1/queues/support", json={"name": "Support", "wrap_up_codes": CODES, "default_wrap_up_code": "nope"}
    )
    assert answer.status_code == 400 and "default_wrap_up_code" in answer.json()["error"]["message"]
    queue = await sb.queue("support")
    assert queue["default_wrap_up_code"] is None
