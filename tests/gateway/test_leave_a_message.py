"""Leave a message (issue 20.4): with the product's default (`offline: "leave_message"`), a
webchat started while the queue is closed or nobody of it is signed in becomes a messaging
conversation that waits for an agent; the ack says when to expect an answer. The welcome
tells the widget beforehand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from test_hours import closed_today


async def put_queue(sb, **config):
    """Without the suite's `offline: "refuse"`: the product's default."""
    return await sb.admin("PUT", "/api/v1/queues/support", {"name": "Support", **config})


async def test_the_default_is_to_leave_a_message(sb):
    assert (await put_queue(sb))["offline"] == "leave_message"


async def test_nobody_signed_in_the_chat_waits_as_a_message_and_an_agent_answers_later(sb):
    await put_queue(sb)
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"]["available"] is False and "opens_at" not in welcome["queue"]
    left = await customer.ok(
        {"type": "start_chat", "queue": "support", "text": "Please call me back", "customer": {"name": "Ada"}}
    )
    assert left["left_message"] is True and "expected_reply_at" not in left
    cid = left["conversation_id"]
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert (card["channel"], card["status"]) == ("messaging", "waiting")
    visitor_token = welcome["visitor_token"]
    await customer.close()  # the customer leaves; a messaging conversation is not abandoned

    # The next morning an agent signs in and answers.
    alice = await sb.available_agent("alice")
    offer = await alice.expect("offer", conversation_id=cid)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "message", "conversation_id": cid, "text": "Good morning Ada, calling you now."})

    back, again = await sb.customer(visitor_token=visitor_token, resume={"conversation_id": cid, "last_seq": 0})
    assert again["conversation"]["conversation_id"] == cid
    await back.expect("message", text="Good morning Ada, calling you now.")


async def test_outside_business_hours_the_answer_is_expected_at_the_opening(sb):
    hours = closed_today()
    await put_queue(sb, business_hours=hours)
    await sb.available_agent("alice")  # signed in, but the queue is closed
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"]["available"] is False and welcome["queue"]["opens_at"] > 0
    left = await customer.ok({"type": "start_chat", "queue": "support", "text": "Are you there?"})
    assert left["left_message"] is True and left["expected_reply_at"] == welcome["queue"]["opens_at"]
    opens = datetime.fromtimestamp(left["expected_reply_at"] / 1000, ZoneInfo("UTC"))
    assert opens > datetime.now(ZoneInfo("UTC")) and opens.strftime("%H:%M") == "00:00"
    await customer.expect("message", text=hours["closed_message"])


async def test_with_someone_signed_in_during_hours_it_is_a_webchat_as_ever(sb):
    await put_queue(sb)
    alice = await sb.available_agent("alice")
    await alice.ok({"type": "set_state", "state": "not_ready"})  # signed in, on a break: still staffed
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"].get("available", True) is True  # the default, left out
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "Hi"})
    assert "left_message" not in started
    card = (await sb.admin("GET", f"/api/v1/conversations/{started['conversation_id']}"))["card"]
    assert card["channel"] == "webchat"


async def test_refuse_keeps_the_old_ways(sb):
    await put_queue(sb, offline="refuse", business_hours=closed_today())
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"]["offline"] == "refuse"
    refused = await customer.request({"type": "start_chat", "queue": "support", "text": "hello?"})
    assert refused["code"] == "unavailable"
