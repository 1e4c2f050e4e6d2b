"""The bot stage's Lua steps called directly, with a controlled clock: a socket bot's chats are
listed under it and its channel gets the customer's words until the chat leaves its stage; a
chat that waited for an absent bot longer than allowed is found; a webhook bot's messages say so."""

from __future__ import annotations

import json
import time

import pytest

from support import queue_and_agent, webchat
from switchboard.domain.bots import BotConfig
from switchboard.domain.config import QueueConfig
from switchboard.domain.errors import SwitchboardError

T0 = 1_800_000_000_000
SOCKET_BOT = QueueConfig(name="Q", bot=BotConfig(name="greeter"))


async def test_a_socket_bots_chat_from_its_start_to_its_handoff(router):
    await queue_and_agent(router, SOCKET_BOT, T0)
    pubsub = router.redis.pubsub()
    await pubsub.subscribe(router.keys.channel("b:greeter"))
    await webchat(router, 1, T0, text="hi", bot_stage=True)
    assert await router.bot_conversations("greeter") == ["c1"]
    assert await router.in_bot_stage_of("c1", "greeter") and not await router.in_bot_stage_of("c1", "other")

    posted = await router.post_message("c1", "customer", "v1", "", "my order", now=T0 + 1)
    assert "bot_hook" not in posted
    await router.post_message("c1", "bot", "greeter", "Greeter", "Which one?", now=T0 + 2)
    with pytest.raises(SwitchboardError) as refused:
        await router.post_message("c1", "bot", "other", "", "me too", now=T0 + 3)
    assert refused.value.code.value == "conflict"

    await router.handoff("c1", "", "wants a person", {"order": "A-1"}, now=T0 + 4)
    assert await router.bot_conversations("greeter") == []
    assert not await router.in_bot_stage_of("c1", "greeter")
    await router.post_message("c1", "customer", "v1", "", "hello?", now=T0 + 5)

    heard = []
    deadline = time.monotonic() + 5
    while len(heard) < 4 and time.monotonic() < deadline:
        # None also stands for a skipped subscribe confirmation: read on
        if (message := await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)) is not None:
            heard.append(json.loads(message["data"]))
    # everything was published before the reads began: anything more would be here already
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1) is None
    await pubsub.aclose()
    said = [(f["type"], f.get("text") or f.get("reason")) for f in heard]
    # the start, the customer's words (not the bot's own), the end of its stage; nothing after it
    assert said == [
        ("bot.conversation", None),
        ("message", "hi"),
        ("message", "my order"),
        ("bot.conversation_ended", "handed_off"),
    ]


async def test_chats_of_a_bot_away_too_long_are_found(router):
    await queue_and_agent(router, SOCKET_BOT, T0)
    await webchat(router, 1, T0, text="hi", bot_stage=True)
    await webchat(router, 2, T0 + 30_000, text="hi", bot_stage=True)
    assert await router.abandoned_bot_conversations(T0 + 59_000, 60_000) == []
    assert await router.abandoned_bot_conversations(T0 + 61_000, 60_000) == ["c1"]
    await router.mark_bots_seen(["greeter"], T0 + 61_000)  # it came back: its chats wait for it
    assert await router.abandoned_bot_conversations(T0 + 100_000, 60_000) == []
    assert await router.abandoned_bot_conversations(T0 + 122_000, 60_000) == ["c1", "c2"]
    await router.end_by_automation("c1", "answered", now=T0 + 122_000)
    assert await router.bot_conversations("greeter") == ["c2"]


async def test_a_webhook_bots_customer_messages_are_marked_for_it(router):
    hook = BotConfig(url="https://bot.example.com/hook", secret="whsec_" + "QUFB" * 8)
    await queue_and_agent(router, QueueConfig(name="Q", bot=hook), T0)
    await webchat(router, 1, T0, bot_stage=True)
    assert await router.in_webhook_bot_stage("c1") and await router.bot_conversations("greeter") == []
    posted = await router.post_message("c1", "customer", "v1", "", "hi", now=T0 + 1)
    assert posted["bot_hook"] is True
    await router.handoff("c1", now=T0 + 2)
    assert not await router.in_webhook_bot_stage("c1")
    assert "bot_hook" not in await router.post_message("c1", "customer", "v1", "", "hi", now=T0 + 3)
