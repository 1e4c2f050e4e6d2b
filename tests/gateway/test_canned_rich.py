"""Canned responses that hold a rich message (issue 20.3): the admin stores quick replies, a
card or a list beside the text, checked as every rich message is (domain/rich.py); agents
read it with the response, and the desk sends it in the agent's `message` frame, which
reaches the customer over its socket like any rich message."""

from __future__ import annotations

from typing import Any

import pytest
from test_rich_messages import CARD, QUICK, connected

BASE = "/api/v1/canned-responses"


async def test_a_canned_response_keeps_its_rich_message_and_the_agent_sends_it(sb):
    text = "Hello {customer.name}, what is it about?"
    created = await sb.admin("PUT", f"{BASE}/topics", {"title": "Topics", "text": text, "rich": QUICK}, expect=201)
    assert created["rich"] == QUICK and created["placeholders"] == ["customer.name"]
    plain = await sb.admin("PUT", f"{BASE}/bye", {"title": "Bye", "text": "Goodbye!"}, expect=201)
    assert "rich" not in plain  # a text-only response looks as it always did

    alice, customer, cid = await connected(sb)
    token = await sb.agent("alice")
    listed = await sb.http.get(BASE, params={"q": "topics"}, headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200 and listed.json()["canned_responses"] == [created]

    # The desk sends the response's text (its placeholders filled) with its rich message.
    sent = await alice.ok(
        {"type": "message", "conversation_id": cid, "text": "Hello Ann, what is it about?", "rich": created["rich"]}
    )
    shown = await customer.expect("message", seq=sent["seq"])
    assert shown["rich"] == QUICK and shown["text"] == "Hello Ann, what is it about?"

    replaced = await sb.admin("PUT", f"{BASE}/topics", {"title": "Topics", "text": "Our router", "rich": CARD})
    assert replaced["rich"] == CARD
    assert "rich" not in await sb.admin("PUT", f"{BASE}/topics", {"title": "Topics", "text": "Plain now"})


@pytest.mark.parametrize(
    "rich",
    [
        {"kind": "poll", "text": "?"},
        {"kind": "quick_replies", "text": "Pick", "options": [{"label": "", "value": "x"}]},
        {"kind": "card", "title": "X", "buttons": [{"label": "Go", "url": "javascript:alert(1)"}]},
        {"kind": "card", "title": "X", "buttons": [{"label": "Both", "url": "https://a.example", "value": "b"}]},
        "not an object",
    ],
)
async def test_a_bad_rich_message_in_a_canned_response_is_a_400(sb, rich: Any):
    refused = await sb.admin("PUT", f"{BASE}/bad", {"title": "Bad", "text": "Text", "rich": rich}, expect=400)
    assert refused["error"]["code"] == "bad_request"
    assert (await sb.http.get(f"{BASE}/bad")).status_code == 404
