"""Webhook bots (issue 20.2 and 20.7): a queue's `bot: {url, secret}` gets each customer message of
its bot stage as a signed POST (Standard Webhooks) and answers `{replies, handoff?}`; a bot that
fails, or that the guard against private addresses keeps out, hands the chat to the queue."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import standardwebhooks
from gateway.test_attachments import png, upload
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from local_server import LocalServer
from switchboard.domain.bots import FAILED_SUMMARY

SECRET = "whsec_" + base64.b64encode(b"b" * 32).decode()
FAST = {"webhook_allow_private": True, "webhook_timeout_s": 1.0}


class RuleBot:
    """A real HTTP webhook bot on 127.0.0.1: checks each request's signature with the Standard
    Webhooks library and answers by the customer's words."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self._http = LocalServer(Starlette(routes=[Route("/bot", self.answer, methods=["POST"])]))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}/bot"

    async def answer(self, request: Request) -> Response:
        body = await request.body()
        try:
            asked = standardwebhooks.Webhook(SECRET).verify(body, dict(request.headers))
        except standardwebhooks.webhooks.WebhookVerificationError:
            return Response(status_code=401)
        self.asked.append(asked)
        message = asked["message"]
        if message.get("choice") == "billing":
            return JSONResponse({"handoff": {"summary": "Wants billing help", "attributes": {"topic": "billing"}}})
        words = message["text"].lower()
        if "broken" in words:
            return Response(status_code=500)
        if "slow" in words:
            await asyncio.sleep(3)  # longer than the node's timeout: the bot being slow
        return JSONResponse(
            {
                "replies": [
                    {"text": f"Hello {asked['customer'].get('name', 'there')}!"},
                    {
                        "rich": {
                            "kind": "quick_replies",
                            "text": "What about?",
                            "options": [{"label": "Billing", "value": "billing"}],
                        }
                    },
                ]
            }
        )

    async def start(self) -> RuleBot:
        await self._http.start()
        return self

    async def stop(self) -> None:
        await self._http.stop()


@pytest.fixture
async def rule_bot() -> AsyncIterator[RuleBot]:
    bot = await RuleBot().start()
    yield bot
    await bot.stop()


def webhook_bot(bot: RuleBot) -> dict[str, Any]:
    return {"url": bot.url, "secret": SECRET, "display_name": "Helper"}


async def test_the_webhook_bot_answers_and_hands_off(make_deployment, rule_bot):
    sb = await make_deployment(**FAST)
    await sb.queue("support", bot=webhook_bot(rule_bot))
    alice = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Hi", customer={"name": "Ada"})
    cid = started["conversation_id"]

    greeting = await customer.expect("message", text="Hello Ada!")
    assert greeting["from"] == {"role": "bot", "display_name": "Helper"}
    asked = await customer.wait(lambda m: m.get("type") == "message" and m.get("rich"))
    assert rule_bot.asked[0]["conversation_id"] == cid and rule_bot.asked[0]["message"]["text"] == "Hi"
    assert alice.received("offer") == []

    await customer.ok({"type": "message", "text": "x", "choice": "billing", "reply_to": asked["seq"]})
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["summary"] == "Wants billing help" and offer["attributes"] == {"topic": "billing"}
    said = [(m["from"]["role"], m["text"]) for m in offer["thread"] if m["type"] == "message"]
    assert said[:3] == [("customer", "Hi"), ("bot", "Hello Ada!"), ("bot", "What about?")]
    assert said[3] == ("customer", "Billing")

    # handed off: the customer's next words reach the agent, not the bot
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": "thanks"})
    await alice.expect("message", conversation_id=cid, text="thanks")
    assert [a["message"]["text"] for a in rule_bot.asked] == ["Hi", "Billing"]


@pytest.mark.parametrize("words", ["broken", "slow"])
async def test_a_failing_webhook_bot_hands_the_chat_to_the_queue(make_deployment, rule_bot, words):
    sb = await make_deployment(**FAST)
    await sb.queue("support", bot=webhook_bot(rule_bot))
    alice = await sb.available_agent("alice")
    _, started = await sb.chat(text=f"I am {words}")
    offer = await alice.expect("offer", conversation_id=started["conversation_id"], timeout=10)
    assert offer["summary"] == FAILED_SUMMARY


async def test_a_bot_on_a_private_address_is_never_reached(make_deployment, rule_bot):
    sb = await make_deployment(webhook_timeout_s=1.0)  # private receivers not allowed
    await sb.queue("support", bot=webhook_bot(rule_bot))
    alice = await sb.available_agent("alice")
    _, started = await sb.chat(text="Hi")
    offer = await alice.expect("offer", conversation_id=started["conversation_id"], timeout=10)
    assert offer["summary"] == FAILED_SUMMARY and rule_bot.asked == []


async def test_a_file_the_customer_sends_reaches_the_webhook_bot(make_deployment, rule_bot):
    sb = await make_deployment(**FAST)
    await sb.queue("support", bot=webhook_bot(rule_bot))
    customer, welcome = await sb.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support"}))["conversation_id"]
    sent = await upload(sb, cid, welcome["visitor_token"], "receipt.png", png(), "image/png")
    assert sent.status_code == 201, sent.text
    await customer.expect("message", text="Hello there!")
    (asked,) = rule_bot.asked
    assert asked["message"]["kind"] == "attachment" and asked["message"]["attachment"]["name"] == "receipt.png"


async def test_a_read_only_key_never_sees_the_webhook_bots_secret(sb, rule_bot):
    await sb.queue("support", bot=webhook_bot(rule_bot))
    assert (await sb.admin("GET", "/api/v1/queues/support"))["bot"]["secret"] == SECRET
    reader = await sb.admin("POST", "/api/v1/api-keys", {"name": "BI", "scope": "read"}, 201)
    headers = {"Authorization": f"Bearer {reader['key']}"}
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10, headers=headers) as read:
        one = await read.get("/api/v1/queues/support")
        listed = await read.get("/api/v1/queues")
    assert one.status_code == 200 and one.json()["bot"] == {"url": rule_bot.url, "display_name": "Helper"}
    assert SECRET not in one.text and SECRET not in listed.text
