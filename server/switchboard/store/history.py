"""Reads of a conversation's history stream (its own slot, `{sb}:c:{<cid>}:h`)."""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from .errors import call
from .keys import Keys
from .lists import lists_fixed

_json_decode = msgspec.json.Decoder().decode


async def read_recent(
    redis: Redis, keys: Keys, cid: str, limit: int, messages_only: bool = False
) -> list[dict[str, Any]]:
    """The conversation's last `limit` history events (with `messages_only`, its
    last messages: an offer's thread), oldest first, notes included."""
    entries = await call(redis.xrevrange(keys.history(cid), "+", "-", count=limit * (3 if messages_only else 1)))
    events = [
        lists_fixed(_json_decode(fields[b"d"]))
        for _id, fields in reversed(entries)
        if not messages_only or b'"type":"message"' in fields[b"d"]
    ]
    return events[-limit:]


class HistoryReads:
    redis: Redis
    keys: Keys

    async def recent_history(self, cid: str, limit: int, messages_only: bool = False) -> list[dict[str, Any]]:
        return await read_recent(self.redis, self.keys, cid, limit, messages_only)

    async def history(
        self, cid: str, after_seq: int = 0, audience: str = "agents", limit: int = 10_000
    ) -> list[dict[str, Any]]:
        """History events with seq > `after_seq`, in order; a customer's view leaves out notes."""
        entries = await call(self.redis.xrange(self.keys.history(cid), f"{after_seq + 1}-0", "+", count=limit))
        events = []
        for _id, fields in entries:
            if audience == "customer" and fields.get(b"v") == b"agents":
                continue
            events.append(_json_decode(fields[b"d"]))
        return events

    async def history_length(self, cid: str) -> int:
        raw = await call(self.redis.hget(self.keys.conversation(cid), "seq"))
        return int(raw or 0)
