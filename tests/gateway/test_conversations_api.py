"""The conversations API for automation (issue 20.2 and 20.7): a conversation created in the
bot stage is offered to nobody, a bot talks in it, the handoff queues it with its summary
and attributes for an agent; `end` ends it with a reason in words."""

from __future__ import annotations

from support import eventually

BOT_FLOW = {
    "queue": "support",
    "customer": {"name": "Ada", "email": "ada@example.com"},
    "transcript": [
        {"role": "bot", "text": "Hi, I am the shop's assistant."},
        {"role": "customer", "text": "My router keeps rebooting"},
        {"role": "system", "text": "Ada came from the support page"},
    ],
    "attributes": {"order": "A-1001"},
    "bot_name": "Shop assistant",
}


async def events_of(sb, *types: str) -> list[dict]:
    page = await sb.admin("GET", "/api/v1/events?limit=200")
    return [event for event in page["events"] if event["type"] in types]


async def test_a_bot_stage_conversation_is_offered_to_nobody_until_its_handoff(sb):
    alice = await sb.available_agent("alice")
    created = await sb.admin("POST", "/api/v1/conversations", BOT_FLOW, expect=201)
    cid = created["id"]
    assert created["status"] == "bot" and created["visitor_id"].startswith("v_")
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert (card["status"], card["status_label"]) == ("bot", "With a bot")
    bot = await sb.admin(
        "POST",
        f"/api/v1/conversations/{cid}/messages",
        {"role": "bot", "name": "Shop assistant", "text": "Let me get you a person."},
        expect=201,
    )
    assert alice.received("offer") == []

    handed = await sb.admin(
        "POST",
        f"/api/v1/conversations/{cid}/handoff",
        {"summary": "Router X2 reboots every hour; firmware 1.2; tried a reset.", "attributes": {"model": "X2"}},
    )
    assert handed == {"conversation_id": cid, "session_id": created["session_id"], "queue": "support"}
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["summary"] == "Router X2 reboots every hour; firmware 1.2; tried a reset."
    assert offer["attributes"] == {"order": "A-1001", "model": "X2"}
    said = [(m["from"]["role"], m["text"]) for m in offer["thread"] if m["type"] == "message"]
    assert said == [
        ("bot", "Hi, I am the shop's assistant."),
        ("customer", "My router keeps rebooting"),
        ("system", "Ada came from the support page"),
        ("bot", "Let me get you a person."),
    ]
    assert offer["thread"][0]["from"]["display_name"] == "Shop assistant"
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    card = (await alice.expect("conversation.assigned", conversation_id=cid))["card"]
    assert card["status"] == "active" and card["summary"].startswith("Router X2")

    types = [e["type"] for e in await events_of(sb, "session.bot_started", "session.handed_off", "session.queued")]
    assert types == ["session.bot_started", "session.handed_off", "session.queued"]
    assert bot["seq"] == 4

    again = await sb.http.post(f"/api/v1/conversations/{cid}/handoff", json={})
    assert again.status_code == 409 and "not in the bot stage" in again.text


async def test_handoff_at_once_and_to_another_queue(sb):
    await sb.queue("billing")
    bob = await sb.available_agent("bob", queues=["billing"])
    created = await sb.admin(
        "POST", "/api/v1/conversations", {**BOT_FLOW, "handoff": True, "summary": "Wants a refund"}, expect=201
    )
    assert created["status"] == "waiting"
    assert bob.received("offer") == []  # queued in support, where nobody is

    other = await sb.admin("POST", "/api/v1/conversations", BOT_FLOW, expect=201)
    await sb.admin("POST", f"/api/v1/conversations/{other['id']}/handoff", {"queue": "billing"})
    offer = await bob.expect("offer", conversation_id=other["id"])
    assert offer["queue"]["id"] == "billing" and "summary" not in offer
    missing = await sb.http.post(f"/api/v1/conversations/{other['id']}/handoff", json={"queue": "nowhere"})
    assert missing.status_code == 409  # it left the bot stage already


async def test_end_with_a_reason_in_words(sb):
    created = await sb.admin("POST", "/api/v1/conversations", BOT_FLOW, expect=201)
    cid = created["id"]
    ended = await sb.admin("POST", f"/api/v1/conversations/{cid}/end", {"reason": "resolved by the bot"})
    assert ended == {"conversation_id": cid, "session_id": created["session_id"], "reason": "api_ended"}
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert (card["status"], card["end_reason"], card["end_detail"]) == ("closed", "api_ended", "resolved by the bot")
    assert card["status_label"] == "Ended by automation"
    (event,) = await events_of(sb, "session.ended")
    assert event["reason"] == "api_ended" and event["detail"] == "resolved by the bot"
    again = await sb.http.post(f"/api/v1/conversations/{cid}/end", json={"reason": "twice"})
    assert again.status_code == 409
    assert (await sb.http.post(f"/api/v1/conversations/{cid}/end", json={"reason": "x" * 65})).status_code == 400


async def test_an_agent_ends_a_handed_off_chat_and_wraps_up(sb):
    alice = await sb.available_agent("alice")
    created = await sb.admin("POST", "/api/v1/conversations", {**BOT_FLOW, "handoff": True}, expect=201)
    offer = await alice.expect("offer", conversation_id=created["id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await sb.admin("POST", f"/api/v1/conversations/{created['id']}/end", {"reason": "customer left the channel"})
    await alice.expect("chat.ended", conversation_id=created["id"])

    async def in_wrap_up() -> bool:
        card = (await sb.admin("GET", f"/api/v1/conversations/{created['id']}"))["card"]
        return card["status"] == "wrap_up"

    await eventually(in_wrap_up)


async def test_bad_bodies_and_who_may(sb):
    assert (await sb.http.post("/api/v1/conversations", json={"queue": "nowhere"})).status_code == 404
    bad = await sb.http.post("/api/v1/conversations", json={**BOT_FLOW, "transcript": [{"role": "agent", "text": "x"}]})
    assert bad.status_code == 400
    await sb.queue("deutsch", languages=["de"])
    wrong_language = await sb.http.post("/api/v1/conversations", json={**BOT_FLOW, "queue": "deutsch"})
    assert wrong_language.status_code == 400
    token = await sb.agent("alice")
    as_agent = await sb.http.post("/api/v1/conversations", json=BOT_FLOW, headers={"Authorization": f"Bearer {token}"})
    assert as_agent.status_code in (401, 403)
    assert (await sb.http.post("/api/v1/conversations/c_none/handoff", json={})).status_code == 404
    assert (await sb.http.post("/api/v1/conversations/c_none/end", json={"reason": "x"})).status_code == 404


async def test_a_conversation_created_with_a_priority_goes_first(sb):
    await sb.queue("support", max_chat_priority=10)
    alice = await sb.available_agent("alice")
    await alice.ok({"type": "set_state", "state": "not_ready"})
    plain = await sb.admin("POST", "/api/v1/conversations", {**BOT_FLOW, "handoff": True}, expect=201)
    urgent = await sb.admin("POST", "/api/v1/conversations", {**BOT_FLOW, "handoff": True, "priority": 10}, expect=201)
    await alice.ok({"type": "set_state", "state": "available"})
    assert (await alice.expect("offer"))["conversation_id"] == urgent["id"] != plain["id"]
    too_much = await sb.http.post("/api/v1/conversations", json={**BOT_FLOW, "priority": 11})
    assert too_much.status_code == 400
