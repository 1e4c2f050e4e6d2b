"""The example rule-based bot (examples/rule_based_bot/) as a real process against a real node:
it greets, offers quick replies, collects an order number, and hands off with a summary and the
flow's attributes when the customer asks for a person or when a rule says so; it ends a chat the
customer is done with."""

from __future__ import annotations

from typing import Any

from example_bot import SHOP_BOT, bot_key, example_bot

from support import Client


async def menu_choice(customer: Client, label: str) -> None:
    """Picks `label` in the bot's last quick replies."""
    menu = await customer.wait(lambda m: m.get("type") == "message" and (m.get("rich") or {}).get("options"))
    value = next(o["value"] for o in menu["rich"]["options"] if o["label"] == label)
    await customer.ok({"type": "message", "text": label, "choice": value, "reply_to": menu["seq"]})


async def test_the_example_bot_collects_a_variable_and_hands_off(sb, tmp_path):
    await sb.queue("support", bot=SHOP_BOT)
    alice = await sb.available_agent("alice")
    with example_bot(sb.node.bot_url, await bot_key(sb), tmp_path / "bot.log"):
        customer, started = await sb.chat(text="Hello", customer={"name": "Ada"})
        cid = started["conversation_id"]
        greeting = await customer.expect("message", text="Hi Ada! I am the shop's assistant.", timeout=20)
        assert greeting["from"]["display_name"] == "Shop assistant"
        await menu_choice(customer, "Track an order")
        await customer.expect("message", text="What is your order number?")
        await customer.ok({"type": "message", "text": "it is a-1234"})
        await customer.expect("message", text="Thanks! Order A-1234 left our warehouse yesterday.")
        await customer.ok({"type": "message", "text": "Can I talk to a person please?"})

        offer = await alice.expect("offer", conversation_id=cid)
        assert offer["summary"] == "The customer asked for a person; topic order, order_number A-1234."
        assert offer["attributes"] == {"topic": "order", "order_number": "A-1234"}

        # a rule hands every billing question over
        other, other_started = await sb.chat(text="Hi")
        await menu_choice(other, "Billing")
        billing = await alice.expect("offer", conversation_id=other_started["conversation_id"])
        assert billing["summary"] == "Billing question: handed over by rule; topic billing."

        # a customer who is done: the bot ends the chat (contained, never offered)
        done, done_started = await sb.chat(text="Hi")
        await menu_choice(done, "Track an order")
        await done.ok({"type": "message", "text": "B-99999"})
        await menu_choice(done, "That's all, thanks")
        ended = await done.expect("chat.ended")
        assert ended["reason"] == "api_ended"
        card: dict[str, Any] = (await sb.admin("GET", f"/api/v1/conversations/{done_started['conversation_id']}"))[
            "card"
        ]
        assert card["end_detail"] == "answered by the bot"
        assert [o for o in alice.received("offer") if o["conversation_id"] == done_started["conversation_id"]] == []


async def test_chats_wait_for_the_example_bot_to_start(sb, tmp_path):
    await sb.queue("support", bot=SHOP_BOT)
    customer, _ = await sb.chat(text="Is anyone there?", customer={"name": "Bo"})
    with example_bot(sb.node.bot_url, await bot_key(sb), tmp_path / "bot.log"):
        await customer.expect("message", text="Hi Bo! I am the shop's assistant.", timeout=20)
