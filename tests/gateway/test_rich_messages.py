"""Rich messages (issue 20.3): quick replies, a card and a list, from agents and from the
API as a bot; the customer's pick arrives with the option's value and its own label."""

from __future__ import annotations

import pytest

QUICK = {
    "kind": "quick_replies",
    "text": "What is it about?",
    "options": [{"label": "An order", "value": "order"}, {"label": "A refund", "value": "refund"}],
}
CARD = {
    "kind": "card",
    "title": "Router X2",
    "text": "Our fastest router.",
    "image_url": "https://shop.example/x2.png",
    "buttons": [{"label": "Open the shop", "url": "https://shop.example/x2"}, {"label": "Buy it", "value": "buy-x2"}],
}


async def connected(sb):
    alice = await sb.available_agent("alice")
    customer, started = await sb.chat()
    cid = started["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    return alice, customer, cid


async def test_quick_replies_from_the_agent_and_the_customers_pick(sb):
    alice, customer, cid = await connected(sb)
    sent = await alice.ok({"type": "message", "conversation_id": cid, "rich": QUICK})
    shown = await customer.expect("message", seq=sent["seq"])
    assert shown["rich"] == QUICK and shown["text"] == "What is it about?"

    # The label comes from the stored message, whatever the customer's text says.
    picked = await customer.ok(
        {"type": "message", "text": "something else", "choice": "refund", "reply_to": sent["seq"]}
    )
    got = await alice.expect("message", seq=picked["seq"])
    assert (got["text"], got["choice"], got["reply_to"]) == ("A refund", "refund", sent["seq"])

    for wrong in (
        {"choice": "free-money", "reply_to": sent["seq"]},  # not an option
        {"choice": "refund", "reply_to": picked["seq"]},  # not a rich message
        {"choice": "refund", "reply_to": 9999},  # no such message
    ):
        answer = await customer.request({"type": "message", "text": "x", **wrong})
        assert answer["type"] == "error" and answer["message"] == "no such choice in that message", wrong
    answer = await customer.request({"type": "message", "text": "x", "choice": "refund"})
    assert answer["code"] == "bad_request" and answer["message"] == "choice and reply_to come together"

    history = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    by_seq = {m["seq"]: m for m in history["messages"]}
    assert by_seq[sent["seq"]]["rich"] == QUICK and by_seq[picked["seq"]]["choice"] == "refund"


async def test_a_card_and_a_list_and_a_button_that_answers(sb):
    alice, customer, cid = await connected(sb)
    card = await alice.ok({"type": "message", "conversation_id": cid, "rich": CARD})
    assert (await customer.expect("message", seq=card["seq"]))["text"] == "Router X2\nOur fastest router."
    listed = await alice.ok(
        {"type": "message", "conversation_id": cid, "rich": {"kind": "list", "items": [CARD, {"title": "Modem M1"}]}}
    )
    shown = await customer.expect("message", seq=listed["seq"])
    assert [item["title"] for item in shown["rich"]["items"]] == ["Router X2", "Modem M1"]
    picked = await customer.ok({"type": "message", "text": "Buy it", "choice": "buy-x2", "reply_to": listed["seq"]})
    assert (await alice.expect("message", seq=picked["seq"]))["text"] == "Buy it"
    # a link button is no choice
    answer = await customer.request(
        {"type": "message", "text": "x", "choice": "https://shop.example/x2", "reply_to": card["seq"]}
    )
    assert answer["type"] == "error"


@pytest.mark.parametrize(
    "rich",
    [
        {**CARD, "buttons": [{"label": "Run", "url": "javascript:alert(1)"}]},
        {**CARD, "buttons": [{"label": "Data", "url": "data:text/html,<b>x</b>"}]},
        {**CARD, "image_url": "http://shop.example/x2.png"},  # images over https only
        {**CARD, "buttons": [{"label": "Both", "url": "https://a.example", "value": "b"}]},
        {**CARD, "buttons": [{"label": "Neither"}]},
        {**QUICK, "options": []},
        {**QUICK, "options": [{"label": f"o{n}", "value": f"v{n}"} for n in range(11)]},
        {"kind": "carousel", "items": []},
        {"kind": "list", "items": []},
    ],
    ids=[
        "javascript url",
        "data url",
        "http image",
        "url and value",
        "no action",
        "no option",
        "11 options",
        "unknown kind",
        "empty list",
    ],
)
async def test_a_bad_rich_message_is_refused(sb, rich):
    alice, _, cid = await connected(sb)
    answer = await alice.request({"type": "message", "conversation_id": cid, "rich": rich})
    assert answer["type"] == "error" and answer["code"] == "bad_request", answer


async def test_the_api_posts_as_a_bot_or_as_the_system(sb):
    alice, customer, cid = await connected(sb)
    path = f"/api/v1/conversations/{cid}/messages"
    bot = await sb.admin("POST", path, {"role": "bot", "name": "Shop assistant", "rich": QUICK}, expect=201)
    for client in (customer, alice):
        got = await client.expect("message", seq=bot["seq"])
        assert got["from"] == {"role": "bot", "display_name": "Shop assistant"} and got["rich"] == QUICK
    system = await sb.admin("POST", path, {"role": "system", "text": "Your order shipped."}, expect=201)
    assert (await customer.expect("message", seq=system["seq"]))["from"] == {"role": "system"}
    picked = await customer.ok({"type": "message", "text": "An order", "choice": "order", "reply_to": bot["seq"]})
    assert (await alice.expect("message", seq=picked["seq"]))["choice"] == "order"

    assert (await sb.admin("POST", path, {"role": "agent", "text": "hi"}, expect=400))["error"]["code"] == "bad_request"
    assert "text or rich" in (await sb.admin("POST", path, {"role": "bot"}, expect=400))["error"]["message"]
    await sb.admin("POST", "/api/v1/conversations/c_nothing/messages", {"role": "bot", "text": "hi"}, expect=404)
    token = await sb.agent("alice")
    as_agent = await sb.http.post(
        path, json={"role": "bot", "text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert as_agent.status_code == 401 or as_agent.status_code == 403
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await sb.admin("POST", path, {"role": "bot", "text": "too late"}, expect=409)


async def test_redacting_a_rich_message_removes_its_content(sb):
    alice, _customer, cid = await connected(sb)
    sent = await alice.ok({"type": "message", "conversation_id": cid, "rich": CARD})
    await sb.admin("DELETE", f"/api/v1/conversations/{cid}/messages/{sent['seq']}", expect=204)
    history = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    (redacted,) = [m for m in history["messages"] if m["seq"] == sent["seq"]]
    assert "rich" not in redacted and "text" not in redacted and redacted["redacted"]
