"""A small rule-based bot for Switchboard's bot socket `/ws/bot`.

It greets each customer, offers quick replies, asks for an order number (a flow variable),
and hands the chat to a person with a `summary` and the flow's `attributes` when the customer
asks for one, or when a rule says so (billing questions always go to a person). A customer who
got what they wanted ends the chat.

    python bot.py --url ws://127.0.0.1:8000/ws/bot --api-key sbk_... --name shop-bot

The rules (`RuleBot`) do no I/O: a frame goes in, the commands to send come out. `serve` only
moves frames between the socket and the rules, and reconnects when the socket drops (the chats
wait for the bot meanwhile; the welcome lists them again).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.typing import Subprotocol

log = logging.getLogger("rule_based_bot")

Command = dict[str, Any]

MENU = [
    {"label": "Track an order", "value": "order"},
    {"label": "Billing", "value": "billing"},
    {"label": "Talk to a person", "value": "person"},
]
AFTER_ORDER = [
    {"label": "That's all, thanks", "value": "done"},
    {"label": "Talk to a person", "value": "person"},
]
ASKS_FOR_A_PERSON = re.compile(r"\b(person|human|agent|someone|operator)\b", re.IGNORECASE)
ORDER_NUMBER = re.compile(r"\b([A-Z]{1,3}-?\d{3,10})\b", re.IGNORECASE)


@dataclass
class Flow:
    """One chat with the bot: where it is, and what the bot learnt (the flow's variables)."""

    name: str = ""
    step: str = "menu"
    #: the customer has written: its first words (start_chat's text) are answered by the greeting
    heard: bool = False
    variables: dict[str, str] = field(default_factory=dict)


class RuleBot:
    def __init__(self) -> None:
        self.flows: dict[str, Flow] = {}

    def on_frame(self, frame: dict[str, Any]) -> list[Command]:
        kind = frame.get("type")
        if kind == "welcome":
            return [c for waiting in frame["conversations"] for c in self._resume(waiting)]
        if kind == "bot.conversation":
            cid = frame["conversation_id"]
            self.flows[cid] = Flow(name=(frame.get("customer") or {}).get("name", ""))
            return self._greet(cid)
        if kind == "bot.conversation_ended":
            self.flows.pop(frame["conversation_id"], None)
            return []
        if kind == "message" and frame.get("from", {}).get("role") == "customer":
            return self._answer(frame["conversation_id"], frame.get("text", ""), frame.get("choice"))
        return []

    def _resume(self, waiting: dict[str, Any]) -> list[Command]:
        """A chat that waited while the bot was away: greet it, or answer its last words."""
        cid = waiting["conversation_id"]
        self.flows[cid] = Flow(name=(waiting.get("customer") or {}).get("name", ""))
        said = [m for m in waiting["messages"] if m.get("type") == "message"]
        if not any(m["from"]["role"] == "bot" for m in said):
            self.flows[cid].heard = any(m["from"]["role"] == "customer" for m in said)
            return self._greet(cid)
        last = said[-1]
        if last["from"]["role"] == "customer":
            return self._answer(cid, last.get("text", ""), last.get("choice"))
        return []

    def _greet(self, cid: str) -> list[Command]:
        flow = self.flows[cid]
        hello = f"Hi {flow.name}! I am the shop's assistant." if flow.name else "Hi! I am the shop's assistant."
        return [say(cid, hello), choices(cid, "How can I help?", MENU)]

    def _answer(self, cid: str, text: str, choice: str | None) -> list[Command]:
        flow = self.flows.setdefault(cid, Flow())
        first, flow.heard = not flow.heard, True
        if choice == "person" or (choice is None and ASKS_FOR_A_PERSON.search(text)):
            return self._hand_off(cid, "The customer asked for a person")
        if first and flow.step == "menu" and choice is None:
            return []  # the greeting and its menu answer the customer's first words
        if flow.step == "order_number" and choice is None:
            found = ORDER_NUMBER.search(text)
            if found is None:
                return [say(cid, "That does not look like an order number (like A-1234). Which is it?")]
            flow.variables["order_number"] = found.group(1).upper()
            flow.step = "order_known"
            return [
                say(cid, f"Thanks! Order {flow.variables['order_number']} left our warehouse yesterday."),
                choices(cid, "Anything else?", AFTER_ORDER),
            ]
        if choice == "order":
            flow.variables["topic"] = "order"
            flow.step = "order_number"
            return [say(cid, "What is your order number?")]
        if choice == "billing":
            # rule: billing questions always go to a person
            flow.variables["topic"] = "billing"
            return self._hand_off(cid, "Billing question: handed over by rule")
        if choice == "done":
            return [
                say(cid, "Glad I could help. Goodbye!"),
                {"type": "end", "conversation_id": cid, "reason": "answered by the bot"},
            ]
        return [choices(cid, "Sorry, I did not get that. Pick one:", MENU)]

    def _hand_off(self, cid: str, why: str) -> list[Command]:
        flow = self.flows.pop(cid, Flow())
        learnt = ", ".join(f"{name} {value}" for name, value in flow.variables.items())
        summary = f"{why}; {learnt}." if learnt else f"{why}."
        return [
            say(cid, "Let me get you a person. One moment, please."),
            {"type": "handoff", "conversation_id": cid, "summary": summary, "attributes": flow.variables},
        ]


def say(cid: str, text: str) -> Command:
    return {"type": "message", "conversation_id": cid, "text": text}


def choices(cid: str, text: str, options: list[dict[str, str]]) -> Command:
    return {
        "type": "message",
        "conversation_id": cid,
        "rich": {"kind": "quick_replies", "text": text, "options": options},
    }


async def serve(url: str, api_key: str, name: str) -> None:
    """Connects, says hello, and answers frames by the rules; reconnects after a drop."""
    pause = 0.5
    while True:
        try:
            async with websockets.connect(url, subprotocols=[Subprotocol("switchboard.v1.json")]) as socket:
                await socket.send(json.dumps({"type": "hello", "api_key": api_key, "name": name}))
                bot = RuleBot()
                async for raw in socket:
                    frame = json.loads(raw)
                    if frame.get("type") == "welcome":
                        log.info("connected as %s; %d chats waiting", name, len(frame["conversations"]))
                        pause = 0.5
                    elif frame.get("type") == "error":
                        log.warning("refused: %s", frame.get("message"))
                    for command in bot.on_frame(frame):
                        await socket.send(json.dumps(command))
        except websockets.InvalidStatus as refused:
            log.error("the server refused the bot socket: %s", refused)
        except websockets.ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code == 4401:
                raise SystemExit(f"the API key was refused: {closed.rcvd.reason}") from None
            log.warning("disconnected (%s); reconnecting", closed)
        except OSError as exc:
            log.warning("cannot connect (%s); retrying", exc)
        await asyncio.sleep(pause)
        pause = min(pause * 2, 10.0)


def main() -> None:
    parser = argparse.ArgumentParser(description="A rule-based bot for Switchboard's bot socket")
    parser.add_argument("--url", default=os.environ.get("BOT_URL", "ws://127.0.0.1:8000/ws/bot"))
    parser.add_argument("--api-key", default=os.environ.get("BOT_API_KEY"), help="scope bot (or admin); or BOT_API_KEY")
    parser.add_argument("--name", default=os.environ.get("BOT_NAME", "shop-bot"), help="the queue's bot: {name}")
    args = parser.parse_args()
    if not args.api_key:
        parser.error("an API key is needed: --api-key or BOT_API_KEY")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve(args.url, args.api_key, args.name))


if __name__ == "__main__":
    main()
