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


class LoginThrottle:
    """Failed sign-ins per account and per client address, across every node: a counter
    per subject that expires with its window (from the first failure on, so trying
    again does not prolong it), and a wait key whose TTL is how long the subject must
    wait before its next try."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def wait_ms(self, subjects: list[str]) -> int:
        """How long the longest-waiting of `subjects` must still wait (0: none)."""
        pipe = self.redis.pipeline(transaction=False)
        for subject in subjects:
            pipe.pttl(self.keys.login_wait(subject))
        return max([0, *(int(ttl) for ttl in await call(pipe.execute()))])

    async def failed(self, subject: str, window_s: float) -> int:
        """Counts one failure; returns how many the subject's window holds now."""
        key = self.keys.login_failures(subject)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, max(1, round(window_s)), nx=True)
        count, _ = await call(pipe.execute())
        return int(count)

    async def make_wait(self, subject: str, wait_s: float) -> None:
        await call(self.redis.set(self.keys.login_wait(subject), 1, px=max(1, round(wait_s * 1000))))

    async def clear(self, subject: str) -> None:
        await call(self.redis.delete(self.keys.login_failures(subject), self.keys.login_wait(subject)))
