"""The routing rules of the contract, over real sockets (who is offered what, where the
socket adds nothing, is tested on the store: tests/store/test_routing_rules.py)."""

from __future__ import annotations

import pytest

from support import eventually


async def events_of(sb, type_):
    page = await sb.admin("GET", "/api/v1/events?limit=1000")
    return [e for e in page["events"] if e["type"] == type_]


async def test_capacity_counts_active_chats_and_wrap_ups(sb):
    agent = await sb.available_agent("alice", capacity=2)
    conversations = []
    for _ in range(2):
        _, started = await sb.chat()
        offer = await agent.expect("offer")
        await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
        conversations.append(started["conversation_id"])
    third, third_started = await sb.chat()
    queued = await third.expect("chat.queued")
    assert queued["position"] == 1
    await agent.ok({"type": "end_session", "conversation_id": conversations[0]})
    # in wrap-up the slot is still taken
    views = await sb.admin("GET", "/api/v1/queues/support")
    assert views["waiting"] == 1
    await agent.ok({"type": "wrap_up", "conversation_id": conversations[0], "code": "resolved"})
    offer = await agent.expect("offer")
    assert offer["session_id"] == third_started["session_id"]


async def test_auto_accept_queue_assigns_without_offer(sb):
    await sb.queue("auto", accept_mode="auto")
    agent = await sb.available_agent("alice", queues=["auto"])
    customer, started = await sb.chat(queue="auto")
    assigned = await agent.expect("conversation.assigned")
    assert assigned["conversation_id"] == started["conversation_id"]
    await customer.expect("chat.connected")
    assert agent.received("offer") == []


async def test_not_ready_and_offline_agents_get_no_offers(sb):
    token = await sb.agent("alice")
    agent, welcome = await sb.agent_socket(token)
    assert welcome["state"]["state"] == "not_ready"
    _customer, _ = await sb.chat()
    await agent.ok({"type": "set_state", "state": "offline"})
    await agent.ok({"type": "set_state", "state": "not_ready", "reason": "lunch"})
    state = await agent.expect("agent.state", state="not_ready", reason="lunch")
    assert state["since"] > 0
    assert agent.received("offer") == []
    await agent.ok({"type": "set_state", "state": "available"})
    await agent.expect("offer")
    bad = await agent.request({"type": "set_state", "state": "rona"})
    assert bad["code"] == "bad_request"


async def test_decline_goes_to_next_agent_and_never_back(sb):
    first = await sb.available_agent("first")
    second = await sb.available_agent("second", capacity=1)
    _, _started = await sb.chat()
    offer = await first.expect("offer")
    await first.ok({"type": "decline", "offer_id": offer["offer_id"]})
    again = await second.expect("offer")
    assert again["session_id"] == offer["session_id"]
    await second.ok({"type": "decline", "offer_id": again["offer_id"]})
    # both declined: the session waits although both agents are free
    views = await sb.admin("GET", "/api/v1/queues/support")
    assert views["waiting"] == 1
    assert len(first.received("offer")) == 1
    third = await sb.available_agent("third")
    await third.expect("offer", session_id=offer["session_id"])
    declined = await events_of(sb, "session.declined")
    assert [e["agent"] for e in declined] == ["first", "second"]


async def test_rona_when_offer_rings_out(sb):
    await sb.queue("support", offer_timeout_s=0.3)
    slow = await sb.available_agent("slow")
    _, _started = await sb.chat()
    offer = await slow.expect("offer")
    fast = await sb.available_agent("fast")
    revoked = await slow.expect("offer.revoked", offer_id=offer["offer_id"])
    assert revoked["reason"] == "timeout"
    state = await slow.expect("agent.state", state="rona")
    assert state["since"] >= offer["offered_at"]
    again = await fast.expect("offer")
    assert again["session_id"] == offer["session_id"]
    late = await slow.request({"type": "accept", "offer_id": offer["offer_id"]})
    assert late["code"] == "not_found"
    agent_view = await sb.admin("GET", "/api/v1/agents/slow")
    assert agent_view["state"] == "rona"
    assert [e["agent"] for e in await events_of(sb, "session.rona")] == ["slow"]
    await slow.ok({"type": "set_state", "state": "available"})
    assert (await sb.admin("GET", "/api/v1/agents/slow"))["state"] == "available"


async def test_rona_keeps_the_place_in_queue(sb):
    await sb.queue("support", offer_timeout_s=0.3)
    slow = await sb.available_agent("slow", capacity=1)
    _, first = await sb.chat(text="first")
    offer = await slow.expect("offer")
    _, _second = await sb.chat(text="second")
    await slow.expect("offer.revoked")
    fresh = await sb.available_agent("fresh", capacity=1)
    offer = await fresh.expect("offer")
    assert offer["conversation_id"] == first["conversation_id"]


async def test_inactivity_ends_a_silent_session(make_deployment):
    sb = await make_deployment(inactivity_timeout_s=0.6)
    await sb.queue("support")
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.ok({"type": "message", "text": "still here"})
    ended = await customer.expect("chat.ended", timeout=5)
    assert ended["reason"] == "inactivity_timeout"
    await agent.expect("chat.ended", reason="inactivity_timeout")
    detail = await sb.admin("GET", f"/api/v1/conversations/{started['conversation_id']}")
    messages = [m for m in detail["messages"]]
    assert ended["ts"] - messages[-1]["ts"] >= 600


async def test_customer_disconnect_grace_ends_webchat(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.3)
    await sb.queue("support")
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.close()
    ended = await agent.expect("chat.ended", timeout=5)
    assert ended["reason"] == "customer_ended"

    waiting, started = await sb.chat()
    await waiting.close()

    async def abandoned():
        ends = await events_of(sb, "session.ended")
        return [e["reason"] for e in ends if e["session_id"] == started["session_id"]]

    assert await eventually(abandoned) == ["customer_abandoned"]


async def test_messaging_survives_disconnect(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.2)
    await sb.queue("support")
    customer, started = await sb.chat(channel="messaging")
    await customer.close()
    agent = await sb.available_agent("alice")
    offer = await agent.expect("offer", timeout=5)
    assert offer["conversation_id"] == started["conversation_id"]


async def test_message_after_end_opens_new_session_in_same_conversation(sb):
    agent = await sb.available_agent("alice", capacity=2)
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.ok({"type": "end_chat"})
    assert (await agent.expect("chat.ended"))["reason"] == "customer_ended"
    ack = await customer.ok({"type": "message", "text": "one more question"})
    queued = await customer.wait(lambda f: f["type"] == "chat.queued" and f["session_id"] != started["session_id"])
    assert queued["conversation_id"] == started["conversation_id"]
    offer = await agent.expect("offer")
    assert offer["conversation_id"] == started["conversation_id"]
    assert offer["thread"][-1]["text"] == "one more question" and offer["thread"][-1]["seq"] == ack["seq"]
    agent_msg = await agent.request({"type": "message", "conversation_id": started["conversation_id"], "text": "x"})
    assert agent_msg["code"] == "forbidden"  # the agent left with the old session (it is in wrap-up)


async def test_end_chat_before_connect_is_abandoned(sb):
    customer, started = await sb.chat()
    answer = await customer.ok({"type": "end_chat"})
    assert answer["reason"] == "customer_abandoned"
    await customer.expect("chat.ended", reason="customer_abandoned")
    again = await customer.request({"type": "end_chat"})
    assert again["code"] == "conflict"
    detail = await sb.admin("GET", f"/api/v1/conversations/{started['conversation_id']}")
    assert detail["card"]["color"] == "white" and detail["card"]["status"] == "closed"


async def test_queue_positions_move_up(sb):
    customers = []
    for i in range(3):
        client, _started = await sb.chat(text=f"n{i}")
        queued = await client.expect("chat.queued")
        assert queued["position"] == i + 1
        customers.append(client)
    await customers[0].ok({"type": "end_chat"})
    assert (await customers[1].expect("chat.position"))["position"] == 1
    assert (await customers[2].expect("chat.position"))["position"] == 2
    conflict = await customers[1].request({"type": "start_chat", "queue": "support"})
    assert conflict["code"] == "conflict"


async def test_agent_disconnect_revokes_offers_and_requeues_after_grace(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.4)
    await sb.queue("support")
    leaving = await sb.available_agent("leaving", capacity=2)
    customer, first = await sb.chat(text="first")
    offer = await leaving.expect("offer")
    await leaving.ok({"type": "accept", "offer_id": offer["offer_id"]})
    _, second = await sb.chat(text="second")
    pending = await leaving.expect("offer")
    await leaving.close()
    # the pending offer is revoked at once: the second chat waits for another agent
    staying = await sb.available_agent("staying", capacity=2)
    offer2 = await staying.expect("offer")
    assert offer2["conversation_id"] == second["conversation_id"]
    # after the grace the active chat goes back to the queue and on to the other agent
    left = await customer.expect("chat.participant_left", timeout=5)
    assert left["agent"]["id"] == "leaving"
    offer3 = await staying.expect("offer", timeout=5)
    assert offer3["conversation_id"] == first["conversation_id"]
    assert (await sb.admin("GET", "/api/v1/agents/leaving"))["state"] == "offline"
    assert pending["offer_id"] != offer2["offer_id"]


async def test_agent_reconnecting_within_grace_keeps_state_and_chats(sb):
    token = await sb.agent("alice")
    agent, _ = await sb.agent_socket(token)
    await agent.ok({"type": "set_state", "state": "available"})
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.close()
    agent, welcome = await sb.agent_socket(token)
    assert welcome["state"]["state"] == "available"
    assert [c["conversation_id"] for c in welcome["conversations"]] == [started["conversation_id"]]
    await agent.ok({"type": "message", "conversation_id": started["conversation_id"], "text": "back"})
    await customer.expect("message", text="back")


async def test_wrap_up_timeout_closes_with_null_code(sb):
    await sb.queue("support", wrap_up_timeout_s=0.3)
    agent = await sb.available_agent("alice", capacity=1)
    _customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.ok({"type": "end_session", "conversation_id": started["conversation_id"]})
    closed = await agent.expect("conversation.closed", timeout=5)
    assert closed["wrap_up"] == {"code": None, "label": "Wrap-up timed out"}
    await sb.chat()
    await agent.expect("offer")  # the slot is free again


async def test_typing_and_read_are_relayed(sb):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    cid = started["conversation_id"]
    await customer.send({"type": "typing", "active": True, "preview": "I wan"})
    typing = await agent.expect("typing")
    assert typing == {
        "type": "typing",
        "conversation_id": cid,
        "from": {"role": "customer"},
        "active": True,
        "preview": "I wan",
    }
    await agent.send({"type": "typing", "conversation_id": cid, "active": True, "preview": "secret draft"})
    typing = await customer.expect("typing")
    assert typing["from"]["role"] == "agent" and "preview" not in typing
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "hi"})
    await customer.send({"type": "read", "seq": ack["seq"]})
    read = await agent.expect("read")
    assert read["seq"] == ack["seq"] and read["conversation_id"] == cid


async def test_agent_cannot_touch_a_foreign_conversation(sb):
    alice = await sb.available_agent("alice", capacity=1)
    mallory = await sb.available_agent("mallory", capacity=1)
    _, started = await sb.chat()
    offer = await alice.expect("offer")
    stolen = await mallory.request({"type": "accept", "offer_id": offer["offer_id"]})
    assert stolen["code"] == "not_found"
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    cid = started["conversation_id"]
    for frame in (
        {"type": "message", "conversation_id": cid, "text": "hi"},
        {"type": "end_session", "conversation_id": cid},
        {"type": "typing", "conversation_id": cid, "active": True},
    ):
        answer = await mallory.request(frame)
        assert answer["code"] == "forbidden", (frame, answer)
    answer = await mallory.request({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    assert answer["code"] == "forbidden"


@pytest.mark.parametrize("protocol", ["json", "msgpack"])
async def test_several_chats_at_once(sb, protocol):
    token = await sb.agent("alice", capacity=3)
    agent, _ = await sb.agent_socket(token, protocol=protocol)
    await agent.ok({"type": "set_state", "state": "available"})
    chats = []
    for i in range(3):
        customer, started = await sb.chat(text=f"chat {i}")
        offer = await agent.expect("offer")
        await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
        chats.append((customer, started["conversation_id"]))
    for _, cid in chats:
        await agent.ok({"type": "message", "conversation_id": cid, "text": f"for {cid}"})
    for customer, cid in chats:
        got = await customer.expect("message", text=f"for {cid}")
        assert got["conversation_id"] == cid
        assert not [
            m for m in customer.received("message") if m["text"].startswith("for ") and m["text"] != f"for {cid}"
        ]


async def test_max_wait_ends_a_waiting_session_with_queue_timeout(sb):
    await sb.queue("support", max_wait_s=0.3)
    customer, started = await sb.chat()
    ended = await customer.expect("chat.ended", timeout=5)
    assert ended["reason"] == "queue_timeout"
    assert (await sb.admin("GET", "/api/v1/queues/support"))["waiting"] == 0
    ends = await events_of(sb, "session.ended")
    assert [(e["session_id"], e["reason"]) for e in ends] == [(started["session_id"], "queue_timeout")]
    assert "waited_ms" in ends[0] and "wait_ms" not in ends[0]


async def test_routing_steps_widen_language_and_skills_as_the_session_waits(sb):
    await sb.queue("support", skills=["tier2"], steps=[{"after_s": 0.3, "skills": [], "languages": ["en"]}])
    generalist = await sb.available_agent("generalist")  # speaks en, no tier2 skill
    customer, started = await sb.chat(language="de")
    await customer.expect("chat.queued")
    offer = await generalist.expect("offer", timeout=5)
    assert offer["conversation_id"] == started["conversation_id"]
    assert offer["offered_at"] - offer["queued_at"] >= 300


async def test_two_chats_go_to_two_idle_agents_not_both_to_one(sb):
    first = await sb.available_agent("first", capacity=3)
    second = await sb.available_agent("second", capacity=3)
    await sb.chat(text="one")
    await sb.chat(text="two")
    await first.expect("offer")
    await second.expect("offer")
    assert len(first.received("offer")) == 1


async def test_agent_lost_after_grace_puts_the_chat_at_the_head_of_the_queue(make_deployment):
    sb = await make_deployment(disconnect_grace_s=0.3)
    await sb.queue("support")
    leaving = await sb.available_agent("leaving", capacity=1)
    customer, first = await sb.chat(text="was connected")
    offer = await leaving.expect("offer")
    await leaving.ok({"type": "accept", "offer_id": offer["offer_id"]})
    _, _newer = await sb.chat(text="newer, waiting")
    await leaving.close()
    await customer.expect("chat.participant_left", timeout=5)
    requeued = await customer.expect("chat.queued")
    assert requeued["position"] == 1 and requeued["session_id"] == first["session_id"]
    taker = await sb.available_agent("taker", capacity=1)
    offer = await taker.expect("offer")
    assert offer["conversation_id"] == first["conversation_id"]


async def test_agent_ending_an_ended_session_is_a_conflict(sb):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.ok({"type": "end_chat"})
    again = await agent.request({"type": "end_session", "conversation_id": started["conversation_id"]})
    assert again["code"] == "conflict"


async def test_queued_customers_get_an_estimated_wait_once_the_queue_has_answered_one(sb):
    token = await sb.agent("alice", capacity=1)
    alice, _ = await sb.agent_socket(token)
    first, _ = await sb.chat()
    assert "estimated_wait_ms" not in await first.expect("chat.queued")
    await alice.ok({"type": "set_state", "state": "available"})
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    second, _ = await sb.chat()
    third, _ = await sb.chat()
    estimate_2 = (await second.expect("chat.queued"))["estimated_wait_ms"]
    estimate_3 = (await third.expect("chat.queued"))["estimated_wait_ms"]
    assert estimate_2 >= 0 and estimate_3 >= estimate_2
    await alice.ok({"type": "end_session", "conversation_id": offer["conversation_id"]})
    await alice.ok({"type": "wrap_up", "conversation_id": offer["conversation_id"], "code": "resolved"})
    moved = await third.expect("chat.position")
    assert moved["position"] == 1 and moved["estimated_wait_ms"] <= estimate_3


async def test_best_skilled_agent_over_the_sockets(sb):
    await sb.queue("support", skills=["billing"], agent_selection="best_skilled", min_proficiency={"billing": 2})
    novice = await sb.available_agent("novice", skills=["billing"], proficiency={"billing": 1})
    average = await sb.available_agent("average", skills=["billing"])
    expert = await sb.available_agent("expert", skills=["billing"], proficiency={"billing": 5})
    _, started = await sb.chat()
    offer = await expert.expect("offer")
    assert offer["session_id"] == started["session_id"]
    assert novice.received("offer") == [] and average.received("offer") == []
    profile = await sb.admin("GET", "/api/v1/agents/expert")
    assert profile["proficiency"] == {"billing": 5}
    refused = await sb.http.put(
        "/api/v1/agents/novice",
        json={"display_name": "N", "languages": ["en"], "queues": ["support"], "proficiency": {"billing": 6}},
    )
    assert refused.status_code == 400, refused.text


async def test_a_vip_chat_is_answered_first(sb):
    await sb.queue("support", max_chat_priority=10, priority_aging_per_min=1)
    _, plain = await sb.chat()
    _, vip = await sb.chat(priority=10)
    greedy, _ = await sb.customer()
    refused = await greedy.request({"type": "start_chat", "queue": "support", "priority": 11})
    assert refused["code"] == "bad_request"
    agent = await sb.available_agent("alice", capacity=1)
    offer = await agent.expect("offer")
    assert offer["session_id"] == vip["session_id"]
    await agent.ok({"type": "decline", "offer_id": offer["offer_id"]})
    await agent.expect("offer", session_id=plain["session_id"])


async def test_a_chat_overflows_to_another_queue_when_nobody_of_its_own_is_signed_in(sb):
    await sb.queue("backup")
    await sb.queue("support", overflow_to=["backup"], overflow_after_s=0.3)
    helper = await sb.available_agent("helper", queues=["backup"])
    _, first = await sb.chat()
    offer = await helper.expect("offer", session_id=first["session_id"])
    assert offer["queue"]["id"] == "support"  # it is still a chat of its own queue
    await helper.ok({"type": "accept", "offer_id": offer["offer_id"]})
    # with an agent of the queue signed in, the next chat overflows after overflow_after_s
    await sb.agent_socket(await sb.agent("member"))  # signed in, not ready
    customer, second = await sb.chat()
    queued = await customer.expect("chat.queued")
    assert queued["position"] == 1
    overflowed = await helper.expect("offer", session_id=second["session_id"])
    assert overflowed["offered_at"] - overflowed["queued_at"] >= 300


async def test_a_queue_inactivity_timeout_warns_the_customer_first(sb):
    await sb.queue("support", inactivity_timeout_s=1.2, inactivity_warning_s=0.6)
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    connected = await customer.expect("chat.connected")
    warning = await customer.expect("chat.inactivity_warning")
    assert warning["session_id"] == started["session_id"]
    assert warning["conversation_id"] == started["conversation_id"]
    assert warning["ends_at"] >= connected["ts"] + 1200
    ended = await customer.expect("chat.ended")
    assert ended["reason"] == "inactivity_timeout"
    assert agent.received("chat.inactivity_warning") == []


async def test_a_returning_customer_is_offered_to_its_last_agent_first(sb):
    await sb.queue("support", sticky_for_s=600)
    alice = await sb.available_agent("alice")
    bob = await sb.available_agent("bob")
    customer, first = await sb.chat()
    offer = await alice.expect("offer", session_id=first["session_id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "end_session", "conversation_id": first["conversation_id"]})
    await alice.ok({"type": "wrap_up", "conversation_id": first["conversation_id"], "code": "resolved"})
    # bob has been idle longer now, but the customer comes back to alice
    again = await customer.ok({"type": "start_chat", "queue": "support", "text": "me again"})
    await alice.expect("offer", session_id=again["session_id"])
    _, stranger = await sb.chat()
    await bob.expect("offer", session_id=stranger["session_id"])
