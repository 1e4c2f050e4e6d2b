"""How many transcripts a conversation asked for lately (a customer may not turn the node
into a mail cannon), and the ended sessions whose transcript a queue sends by itself."""

from __future__ import annotations

import json
from typing import Any

from redis import exceptions as redis_errors
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


#: The consumer group of the lifecycle events stream in which every node's sender of
#: automatic transcripts reads (gateway/transcripts.py).
GROUP = "transcripts"
#: A session whose transcript went is remembered this long, so that an event read twice
#: (taken over from a node that died before acknowledging it) sends no second mail.
SENT_KEPT_S = 7 * 24 * 3600


class EndedSessions:
    """The lifecycle events, read at least once by the nodes together in the group `transcripts`."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def join(self) -> None:
        """Creates the group at the stream's end unless it exists (events from now on count)."""
        try:
            await call(self.redis.xgroup_create(self.keys.events, GROUP, id="$", mkstream=True))
        except redis_errors.ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise

    async def read(self, consumer: str, count: int, block_ms: int) -> list[tuple[str, dict[str, Any]]]:
        """New events for `consumer` (waiting up to `block_ms`), each as (stream id, event)."""
        answer = await call(
            self.redis.xreadgroup(GROUP, consumer, {self.keys.events: ">"}, count=count, block=block_ms)
        )
        return [(_s(eid), _event(fields)) for _stream, entries in answer or [] for eid, fields in entries]

    async def claim(self, consumer: str, min_idle_ms: int, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Events another consumer read `min_idle_ms` ago or more without acknowledging them
        (its node died meanwhile), now `consumer`'s."""
        answer = await call(self.redis.xautoclaim(self.keys.events, GROUP, consumer, min_idle_ms, count=count))
        return [(_s(entry[0]), _event(entry[1])) for entry in answer[1] if entry and entry[1]]

    async def done(self, ids: list[str]) -> None:
        if ids:
            await call(self.redis.xack(self.keys.events, GROUP, *ids))

    async def first_send(self, sid: str) -> bool:
        """Whether this is the first time the session's transcript goes (and remembers that it went)."""
        return bool(await call(self.redis.set(self.keys.transcript_sent(sid), "1", nx=True, ex=SENT_KEPT_S)))


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _event(fields: dict[Any, Any]) -> dict[str, Any]:
    raw = fields.get(b"e") or fields.get("e")
    try:
        event = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}
