"""Counters that hold a limit across every node of a deployment."""

from __future__ import annotations

from redis.asyncio import Redis

from .errors import call
from .keys import Keys


class HandshakeCounter:
    """WebSocket handshakes per client address and minute: one small key per address
    and minute (INCR, then EXPIRE so it goes away by itself)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def count(self, ip: str, minute: int) -> int:
        """Counts one more handshake and returns how many this minute has had so far."""
        key = self.keys.handshakes(ip, minute)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await call(pipe.execute())
        return int(count)
