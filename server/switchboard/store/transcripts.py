"""How many transcripts a conversation asked for lately: a customer may not turn the node
into a mail cannon."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from .errors import call
from .keys import Keys


class TranscriptRequests:
    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def count(self, cid: str, window_s: int) -> int:
        """Counts one more request of the conversation's; the count within the window."""
        key = self.keys.transcript_requests(cid)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, window_s, nx=True)
        counted, _ = await call(pipe.execute())
        return int(counted)
