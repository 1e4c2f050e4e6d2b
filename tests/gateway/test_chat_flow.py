"""A whole chat, end to end, over real sockets against a real Redis."""

from __future__ import annotations


async def test_customer_and_agent_chat_from_start_to_wrap_up(sb):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="My order is late", customer={"name": "Bob", "email": "bob@example.com"})
    queued = await customer.expect("chat.queued")
    assert queued["position"] == 1

    offer = await agent.expect("offer")
    assert offer["kind"] == "new"
    assert offer["conversation_id"] == started["conversation_id"]
    assert offer["customer"]["name"] == "Bob" and offer["customer"]["verified"] is False
    assert offer["queue"] == {"id": "support", "name": "Support"}
    assert [m["text"] for m in offer["thread"]] == ["My order is late"]
    assert offer["offered_at"] <= offer["expires_at"] and offer["queued_at"] <= offer["offered_at"]

    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await agent.expect("conversation.assigned")
    assert assigned["card"]["status"] == "active"
    assert assigned["card"]["agents"] == [{"id": "alice", "display_name": "Alice"}]
    assert [m["text"] for m in assigned["messages"] if m["type"] == "message"] == ["My order is late"]
    connected = await customer.expect("chat.connected")
    assert connected["agent"] == {"id": "alice", "display_name": "Alice"}

    cid = started["conversation_id"]
    ack = await agent.ok({"type": "message", "conversation_id": cid, "text": "Let me check"})
    got = await customer.expect("message", seq=ack["seq"])
    assert got["text"] == "Let me check" and got["from"]["role"] == "agent"

    ack = await customer.ok({"type": "message", "text": "Thanks"})
    got = await agent.expect("message", seq=ack["seq"])
    assert got["from"] == {"role": "customer", "display_name": "Bob"}

    await agent.ok({"type": "end_session", "conversation_id": cid})
    ended = await customer.expect("chat.ended")
    assert ended["reason"] == "agent_ended"
    await agent.expect("chat.ended", conversation_id=cid)

    answer = await agent.request({"type": "wrap_up", "conversation_id": cid, "code": "nonsense"})
    assert answer["type"] == "error" and answer["code"] == "bad_request"
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "sent tracking link"})
    closed = await agent.expect("conversation.closed")
    assert closed["wrap_up"] == {"code": "resolved", "label": "Resolved", "notes": "sent tracking link"}

    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["color"] == "gray" and detail["card"]["status_label"] == "Resolved"
    assert [m["text"] for m in detail["messages"]] == ["My order is late", "Let me check", "Thanks"]
