"""The bot socket `/ws/bot` (issue 20.2): a bot connected with an API key serves the bot stage of
the queues that name it, answers the customer, hands off with a summary and attributes, or ends
the chat; across nodes; and a bot that is away loses its chats to the queue after a while."""

from __future__ import annotations

from typing import Any

import msgspec

from conftest import ADMIN_TOKEN
from support import Client, eventually
from switchboard.domain import frames as f
from switchboard.domain.bots import ABSENT_SUMMARY, CUSTOMER_ASKED_SUMMARY

GREETER = {"name": "greeter", "display_name": "Shop assistant"}


async def bot_socket(url: str, api_key: str = ADMIN_TOKEN, name: str = "greeter") -> tuple[Client, dict[str, Any]]:
    bot = await Client.connect(url)
    await bot.send({"type": "hello", "api_key": api_key, "name": name})
    return bot, await bot.expect("welcome")


async def test_a_bot_talks_first_then_hands_off_with_its_summary(sb):
    await sb.queue("support", bot=GREETER)
    bot, welcome = await bot_socket(sb.node.bot_url)
    assert welcome == {"type": "welcome", "name": "greeter", "conversations": []}
    alice = await sb.available_agent("alice")

    customer, started = await sb.chat(text="Hi there", customer={"name": "Ada"})
    cid = started["conversation_id"]
    entered = await bot.expect("bot.conversation", conversation_id=cid)
    assert entered["queue"] == "support" and entered["customer"] == {"name": "Ada"}
    first = await bot.expect("message", conversation_id=cid)
    assert (first["from"]["role"], first["text"]) == ("customer", "Hi there")

    await bot.ok({"type": "message", "conversation_id": cid, "text": "Hello Ada! What can I do?"})
    said = await customer.expect("message", text="Hello Ada! What can I do?")
    assert said["from"] == {"role": "bot", "id": "greeter", "display_name": "Shop assistant"}
    asked = await bot.ok(
        {
            "type": "message",
            "conversation_id": cid,
            "rich": {"kind": "quick_replies", "text": "Pick one", "options": [{"label": "Order", "value": "order"}]},
        }
    )
    await customer.ok({"type": "message", "text": "x", "choice": "order", "reply_to": asked["seq"]})
    picked = await bot.expect("message", conversation_id=cid, choice="order")
    assert picked["text"] == "Order"
    assert alice.received("offer") == []  # in the bot stage, offered to nobody

    await bot.ok(
        {
            "type": "handoff",
            "conversation_id": cid,
            "summary": "Ada asks about an order",
            "attributes": {"topic": "order"},
        }
    )
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["summary"] == "Ada asks about an order" and offer["attributes"] == {"topic": "order"}
    left = await bot.expect("bot.conversation_ended", conversation_id=cid)
    assert left["reason"] == "handed_off"

    # out of its stage, the bot no longer hears the customer nor may write
    await customer.ok({"type": "message", "text": "still there?"})
    late = await bot.request({"type": "message", "conversation_id": cid, "text": "me again"})
    assert late["type"] == "error" and late["code"] == "conflict"
    again = await bot.request({"type": "handoff", "conversation_id": cid})
    assert again["type"] == "error" and again["code"] == "conflict"
    assert not [m for m in bot.received("message") if m.get("text") == "still there?"]
    # every frame either side got decodes strictly into its struct (the AsyncAPI document's schemas)
    for client, union in ((bot, f.BotFrame), (customer, f.CustomerFrame)):
        for frame in client.frames:
            msgspec.convert(frame, union)


async def test_the_customer_asks_for_a_person(sb):
    await sb.queue("support", bot=GREETER)
    bot, _ = await bot_socket(sb.node.bot_url)
    alice = await sb.available_agent("alice")
    customer, welcome = await sb.customer(queue="support")
    assert welcome["queue"]["bot_name"] == "Shop assistant"
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "Hi"})
    cid = started["conversation_id"]
    await bot.expect("message", conversation_id=cid)
    asked = await customer.ok({"type": "request_agent"})
    assert asked["conversation_id"] == cid
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["summary"] == CUSTOMER_ASKED_SUMMARY
    assert (await bot.expect("bot.conversation_ended", conversation_id=cid))["reason"] == "handed_off"
    again = await customer.request({"type": "request_agent"})
    assert again["type"] == "error" and again["code"] == "conflict"


async def test_the_bot_ends_a_chat_it_answered(sb):
    await sb.queue("support", bot=GREETER)
    bot, _ = await bot_socket(sb.node.bot_url)
    customer, started = await sb.chat(text="Opening hours?")
    cid = started["conversation_id"]
    await bot.expect("message", conversation_id=cid)
    await bot.ok({"type": "message", "conversation_id": cid, "text": "9 to 5."})
    await bot.ok({"type": "end", "conversation_id": cid, "reason": "answered by the bot"})
    ended = await customer.expect("chat.ended")
    assert ended["reason"] == "api_ended"
    assert (await bot.expect("bot.conversation_ended", conversation_id=cid))["reason"] == "ended"
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["end_detail"] == "answered by the bot"


async def test_only_bot_and_admin_keys_may_connect(sb):
    await sb.queue("support", bot=GREETER)
    stranger = await Client.connect(sb.node.bot_url)
    await stranger.send({"type": "hello", "api_key": "sbk_not-a-key", "name": "greeter"})
    assert (await stranger.closed())[0] == 4401
    reader = await sb.admin("POST", "/api/v1/api-keys", {"name": "BI", "scope": "read"}, 201)
    read_only = await Client.connect(sb.node.bot_url)
    await read_only.send({"type": "hello", "api_key": reader["key"], "name": "greeter"})
    assert (await read_only.closed())[0] == 4401

    key = await sb.admin("POST", "/api/v1/api-keys", {"name": "Greeter bot", "scope": "bot"}, 201)
    assert key["scope"] == "bot"
    bot, welcome = await bot_socket(sb.node.bot_url, key["key"])
    assert welcome["name"] == "greeter"
    # a bot key is no credential over HTTP
    refused = await sb.http.get("/api/v1/queues", headers={"Authorization": f"Bearer {key['key']}"})
    assert refused.status_code == 401
    await bot.close()


async def test_the_bot_on_another_node_than_the_customer(make_deployment):
    a = await make_deployment()
    b = await make_deployment()
    await a.queue("support", bot=GREETER)
    bot, _ = await bot_socket(b.node.bot_url)
    customer, started = await a.chat(text="Hello from node A")
    cid = started["conversation_id"]
    assert (await bot.expect("message", conversation_id=cid))["text"] == "Hello from node A"
    await bot.ok({"type": "message", "conversation_id": cid, "text": "Hello from node B"})
    await customer.expect("message", text="Hello from node B")
    await bot.close()


async def test_chats_wait_for_a_bot_that_is_away_then_go_to_the_queue(make_deployment):
    sb = await make_deployment(bot_absent_handoff_s=1.0)
    await sb.queue("support", bot=GREETER)
    alice = await sb.available_agent("alice")
    bot, _ = await bot_socket(sb.node.bot_url)
    await bot.close()  # the bot goes away: chats wait for it a while

    customer, started = await sb.chat(text="Anyone?")
    cid = started["conversation_id"]
    # a bot back in time picks the chat up where it is, with what was said
    bot, welcome = await bot_socket(sb.node.bot_url)
    waiting = welcome["conversations"]
    assert [(w["conversation_id"], [m["text"] for m in w["messages"]]) for w in waiting] == [(cid, ["Anyone?"])]
    await bot.ok({"type": "message", "conversation_id": cid, "text": "Back, sorry!"})
    await customer.expect("message", text="Back, sorry!")
    await bot.close()

    offer = await alice.expect("offer", conversation_id=cid, timeout=10)
    assert offer["summary"] == ABSENT_SUMMARY
    events = await eventually(
        lambda: sb.admin("GET", "/api/v1/events?limit=100"),
    )
    assert "session.handed_off" in [e["type"] for e in events["events"]]


async def test_a_queue_bot_needs_a_name_or_a_signed_url(sb):
    for bad in ({}, {"url": "https://bot.example.com/hook"}, {"name": "x", "secret": "whsec_AAAA"}):
        response = await sb.http.put("/api/v1/queues/support", json={"name": "Support", "bot": bad})
        assert response.status_code == 400, (bad, response.text)


async def test_a_bot_socket_has_a_larger_frame_budget_than_a_customers(sb):
    """One bot answers many chats: more frames at once than a customer's burst (100) pass."""
    await sb.queue("support", bot=GREETER)
    bot, _ = await bot_socket(sb.node.bot_url)
    for n in range(150):
        await bot.send({"type": "end", "conversation_id": "c_none", "reason": "x", "ref": f"e{n}"})
    last = await bot.wait(lambda frame: frame.get("ref") == "e149")
    answers = [frame for frame in bot.frames if str(frame.get("ref", "")).startswith("e")]
    assert last["code"] == "conflict" and {a["code"] for a in answers} == {"conflict"} and len(answers) == 150
