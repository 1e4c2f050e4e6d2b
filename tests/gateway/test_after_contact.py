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


async def test_a_wrap_up_may_give_several_codes_up_to_the_queues_max_dispositions(sb):
    await sb.queue("support", wrap_up_codes=CODES, max_dispositions=2)
    agent, cid = await ended_chat(sb)
    three = await agent.request(
        {"type": "wrap_up", "conversation_id": cid, "codes": ["resolved", "refund", "follow_up"]}
    )
    assert (three["code"], three["message"]) == ("bad_request", "the queue takes at most 2 wrap-up codes")
    unknown = await agent.request({"type": "wrap_up", "conversation_id": cid, "codes": ["resolved", "nope"]})
    assert unknown["code"] == "bad_request" and "unknown wrap-up code" in unknown["message"]
    none = await agent.request({"type": "wrap_up", "conversation_id": cid, "codes": []})
    assert none["code"] == "bad_request"
    # `code` and `codes` together: `code` first, a repeated one counts once
    ack = await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "refund", "codes": ["refund", "resolved"]})
    assert (ack["code"], ack["label"]) == ("refund", "Refund")
    given = [{"code": "refund", "label": "Refund"}, {"code": "resolved", "label": "Resolved"}]
    assert ack["codes"] == given
    closed = await agent.expect("conversation.closed", conversation_id=cid)
    assert closed["wrap_up"] == {"code": "refund", "label": "Refund", "codes": given}
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["wrap_up"]["codes"] == given
    events = (await sb.admin("GET", "/api/v1/events"))["events"]
    wrapped = next(e for e in events if e["type"] == "session.wrapped_up")
    assert (wrapped["code"], wrapped["codes"]) == ("refund", ["refund", "resolved"])


async def test_one_code_is_the_default_and_the_contract_is_unchanged(sb):
    await sb.queue("support", wrap_up_codes=CODES)
    agent, cid = await ended_chat(sb)
    two = await agent.request({"type": "wrap_up", "conversation_id": cid, "codes": ["resolved", "refund"]})
    assert (two["code"], two["message"]) == ("bad_request", "the queue takes at most 1 wrap-up code")
    ack = await agent.ok({"type": "wrap_up", "conversation_id": cid, "codes": ["resolved"]})
    assert "codes" not in ack
    closed = await agent.expect("conversation.closed", conversation_id=cid)
    assert closed["wrap_up"] == {"code": "resolved", "label": "Resolved"}


async def test_a_queue_may_require_wrap_up_notes(sb):
    await sb.queue("support", wrap_up_notes="required")
    agent, cid = await ended_chat(sb)
    for notes in (None, "", "   "):
        frame = {"type": "wrap_up", "conversation_id": cid, "code": "resolved"}
        if notes is not None:
            frame["notes"] = notes
        answer = await agent.request(frame)
        assert (answer["code"], answer["message"]) == ("bad_request", "the queue requires wrap-up notes")
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "called back"})
    bad = await sb.http.put("/api/v1/queues/support", json={"name": "Support", "wrap_up_notes": "sometimes"})
    assert bad.status_code == 400


async def test_the_wrap_up_sets_the_state_the_agent_chose(sb):
    await sb.queue("support")
    agent, cid = await ended_chat(sb)
    wrong = await agent.request(
        {"type": "wrap_up", "conversation_id": cid, "code": "resolved", "next_state": "available", "reason": "Lunch"}
    )
    assert (wrong["code"], wrong["message"]) == ("bad_request", "a reason goes with next_state not_ready")
    bad = await agent.request({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "next_state": "rona"})
    assert bad["code"] == "bad_request"
    await agent.ok(
        {"type": "wrap_up", "conversation_id": cid, "code": "resolved", "next_state": "not_ready", "reason": "Lunch"}
    )
    await agent.expect("conversation.closed", conversation_id=cid)
    state = await agent.expect("agent.state")
    assert (state["state"], state["reason"]) == ("not_ready", "Lunch")
    # no offer while not ready; back to available after the next one
    await sb.chat()
    await agent.ok({"type": "set_state", "state": "available"})
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.ok({"type": "end_session", "conversation_id": offer["conversation_id"]})
    await agent.ok({"type": "set_state", "state": "not_ready"})
    await agent.ok(
        {"type": "wrap_up", "conversation_id": offer["conversation_id"], "code": "resolved", "next_state": "available"}
    )
    assert (await agent.expect("agent.state", state="available"))["state"] == "available"


async def test_without_next_state_the_agent_keeps_its_state(sb):
    await sb.queue("support")
    agent, cid = await ended_chat(sb)
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await agent.expect("conversation.closed", conversation_id=cid)
    agents = await sb.admin("GET", "/api/v1/agents/alice")
    assert agents["state"] == "available"


async def test_an_agent_that_served_a_conversation_may_add_notes_after_the_end(sb):
    await sb.queue("support")
    agent, cid = await ended_chat(sb)
    bob = await sb.available_agent("bob")
    mallory = await sb.available_agent("mallory", queues=["support"])
    # in wrap-up
    ack = await agent.ok({"type": "note", "conversation_id": cid, "text": "customer will call back"})
    note = await agent.expect("note", seq=ack["seq"])
    assert note["text"] == "customer will call back" and note["from"]["id"] == "alice"
    # and after it
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await agent.expect("conversation.closed", conversation_id=cid)
    await agent.ok({"type": "note", "conversation_id": cid, "text": "called back, all fine"})
    # never a message, and never someone that did not serve it
    message = await agent.request({"type": "message", "conversation_id": cid, "text": "hello again"})
    assert (message["code"], message["message"]) == ("forbidden", "you are not connected to this conversation")
    for other in (bob, mallory):
        refused = await other.request({"type": "note", "conversation_id": cid, "text": "me too"})
        assert (refused["code"], refused["message"]) == ("forbidden", "you are not connected to this conversation")
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [n["text"] for n in detail["notes"]] == ["customer will call back", "called back, all fine"]


async def test_a_queue_may_free_the_slot_when_the_session_ends(sb):
    await sb.queue("support", release_capacity_on="end")
    agent, cid = await ended_chat(sb, capacity=1)
    _customer, second = await sb.chat()
    offer = await agent.expect("offer", conversation_id=second["conversation_id"])
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    # the first wrap-up is still to be done, and the card says so
    _again, welcome = await sb.agent_socket(await sb.agent("alice", capacity=1))
    statuses = {c["conversation_id"]: c["status"] for c in welcome["conversations"]}
    assert statuses == {cid: "wrap_up", second["conversation_id"]: "active"}
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    assert (await sb.queue("support", release_capacity_on="wrap_up"))["release_capacity_on"] == "wrap_up"
