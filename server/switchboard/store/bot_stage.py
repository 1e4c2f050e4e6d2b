"""The socket bots' side of the bot stage (lua/includes/bots.lua writes it): which
conversations wait in a bot's stage, and whether the bot is there to answer them.

A socket of a bot marks the bot seen now and then (gateway/bot_socket.py); a bot seen
by no node for longer than SWITCHBOARD_BOT_ABSENT_HANDOFF_S is away, and the
conversations that waited for it that long are handed to their queues.
"""

from __future__ import annotations

from .engine import Engine
from .errors import call, store_call


class BotStageReads(Engine):
    async def bot_conversations(self, name: str) -> list[str]:
        """The conversations in the bot's stage, the oldest first."""
        cids = await call(self.redis.zrange(self.keys.bot_conversations(name), 0, -1))
        return [cid.decode() for cid in cids]

    async def in_bot_stage_of(self, cid: str, name: str) -> bool:
        """Whether the conversation is in the stage of the socket bot `name` now."""
        bot = await call(self.redis.hget(self.keys.conversation_record(cid), "bot"))
        return bot is not None and bot.decode() == name

    async def in_webhook_bot_stage(self, cid: str) -> bool:
        """Whether the conversation is in the stage of its queue's webhook bot now."""
        hook: bytes | None = await call(self.redis.hget(self.keys.conversation_record(cid), "bot_hook"))
        return hook == b"1"

    async def mark_bots_seen(self, names: list[str], now: int) -> None:
        if not names:
            return
        with store_call:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.set(self.keys.bot_seen(name), now)
                await pipe.execute()

    async def abandoned_bot_conversations(self, now: int, absent_ms: int) -> list[str]:
        """The conversations that waited longer than `absent_ms` in the stage of a bot that
        no node has seen for that long."""
        since = now - absent_ms
        abandoned: list[str] = []
        for raw in await call(self.redis.smembers(self.keys.bots)):
            name = raw.decode()
            seen = await call(self.redis.get(self.keys.bot_seen(name)))
            if seen is not None and int(seen) >= since:
                continue
            cids = await call(self.redis.zrangebyscore(self.keys.bot_conversations(name), "-inf", since))
            abandoned.extend(cid.decode() for cid in cids)
        return abandoned
