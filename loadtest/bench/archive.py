"""The archive's figures: what copying to PostgreSQL costs the relay, how fast and how far
behind it copies at saturation, and what a finished conversation leaves in Redis.

- `ArchiveWatch` samples, while the relay saturates, the rows of `messages` in
  PostgreSQL, the messages the agents received (each one history entry, so one
  row once archived) and the oldest mark waiting in `{sb}:archive:dirty`. The
  lag of a sample is how long before it the agents had received as many
  messages as PostgreSQL then held: the time from delivery to the row, at the
  sampling step's resolution.
- `finished_conversations` runs N short chats to their end (start, a message
  each way, end, wrap-up), each from a new visitor, on a node whose live window
  (SWITCHBOARD_LIVE_RETENTION_S) is one second, waits until PostgreSQL has them
  and they left Redis, and divides what Redis grew by N.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from typing import Any

import asyncpg
import redis.asyncio as aioredis

from switchboard.store.keys import Keys

from .connections import Conn
from .measure import Relay, _r, close_all, gather_limited, send_quietly
from .targets import Switchboard

KEYS = Keys()
SAMPLE_S = 0.1


async def backlog(redis: aioredis.Redis) -> tuple[int, float]:
    """Conversations marked or claimed for the archive, and the age (s) of the oldest mark."""
    pipe = redis.pipeline(transaction=False)
    pipe.zcard(KEYS.archive_dirty)
    pipe.zcard(KEYS.archive_claims("dirty"))
    pipe.zrange(KEYS.archive_dirty, 0, 0, withscores=True)
    dirty, claimed, oldest = await pipe.execute()
    age = max(0.0, time.time() - oldest[0][1] / 1000) if oldest else 0.0
    return int(dirty) + int(claimed), age


async def message_rows(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM messages"))


class ArchiveWatch:
    """Samples PostgreSQL's rows against the messages delivered, every SAMPLE_S, while running."""

    def __init__(self, database_url: str, redis_url: str, relay: Relay) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.relay = relay
        self.samples: list[tuple[float, int, int, int, float]] = []  # (t, delivered, rows, waiting, oldest age)

    async def __aenter__(self) -> ArchiveWatch:
        self.db = await asyncpg.connect(self.database_url)
        self.redis = aioredis.Redis.from_url(self.redis_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.close()
        await self.redis.aclose()

    async def sample(self) -> tuple[float, int, int, int, float]:
        delivered = self.relay.delivered_total
        t = time.monotonic()
        rows = await message_rows(self.db)
        waiting, age = await backlog(self.redis)
        return t, delivered, rows, waiting, age

    async def drained(self, timeout: float) -> float | None:
        """Seconds until nothing waits for the archive and PostgreSQL holds every delivered
        message (rows grew as much as deliveries since `self.base`), or None at the deadline."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            _, delivered, rows, waiting, _ = await self.sample()
            if waiting == 0 and rows - self.base[1] >= delivered - self.base[0]:
                return time.monotonic() - began
            await asyncio.sleep(SAMPLE_S)
        return None

    async def settle(self) -> None:
        """Waits for what came before (the chats' starts, the warm-up) to reach PostgreSQL."""
        self.base = (0, 0)
        await self.drained(30)
        _, delivered, rows, _, _ = await self.sample()
        self.base = (delivered, rows)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.samples.append(await self.sample())
            await asyncio.sleep(SAMPLE_S)

    def figures(self, skip_s: float) -> dict[str, Any]:
        """From the samples after the first `skip_s` (the relay's warm-up)."""
        d0, r0 = self.base
        if not self.samples:
            return {}
        t_first = self.samples[0][0]
        window = [s for s in self.samples if s[0] >= t_first + skip_s] or self.samples
        (ta, da, ra, _, _), (tb, db, rb, _, _) = window[0], window[-1]
        elapsed = max(tb - ta, 1e-9)
        lags = []
        for t, _, rows, _, _ in window:
            # the first sample by which the agents had received what PostgreSQL holds at t
            reached = next((ts for ts, d, *_ in self.samples if d - d0 >= rows - r0), None)
            if reached is not None:
                lags.append(t - reached)
        return {
            "ingested_rows_per_s": round((rb - ra) / elapsed, 1),
            "delivered_msgs_per_s": round((db - da) / elapsed, 1),
            "lag_max_s": _r(max(lags, default=None)),
            "lag_mean_s": _r(sum(lags) / len(lags) if lags else None),
            "oldest_mark_max_s": _r(max(s[4] for s in window)),
            "waiting_conversations_max": max(s[3] for s in window),
            "samples": len(window),
        }


# ---------------------------------------------------------------- Redis per finished conversation

_ID = re.compile(r"[0-9a-f]{8,}|[A-Za-z0-9_-]{16,}|\d+")


def key_kind(key: bytes) -> str:
    """A key's name with its ids replaced by `*`: what kind of key it is."""
    parts = re.split(r"([:{}])", key.decode(errors="replace"))
    return "".join("*" if _ID.fullmatch(p) and p not in ("sb",) else p for p in parts)


async def redis_usage(redis: aioredis.Redis) -> dict[str, Any]:
    """`used_memory` and, key by key, MEMORY USAGE summed by kind of key."""
    info = await redis.info("memory")
    by_kind: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    keys = [key async for key in redis.scan_iter(count=1000)]
    for i in range(0, len(keys), 500):
        pipe = redis.pipeline(transaction=False)
        for key in keys[i : i + 500]:
            pipe.memory_usage(key, samples=0)
        for key, size in zip(keys[i : i + 500], await pipe.execute(), strict=True):
            kind = key_kind(key)
            by_kind[kind] += size or 0
            counts[kind] += 1
    return {
        "used_memory": int(info["used_memory"]),
        "keys": len(keys),
        "key_bytes": sum(by_kind.values()),
        "by_kind": {k: (counts[k], by_kind[k]) for k in by_kind},
    }


async def all_gone(redis: aioredis.Redis) -> bool:
    """Nothing waits for the archive, and no finished conversation or idle visitor waits to leave Redis."""
    pipe = redis.pipeline(transaction=False)
    pipe.zcard(KEYS.archive_dirty)
    pipe.zcard(KEYS.archive_claims("dirty"))
    pipe.zcard(KEYS.archive_visitors)
    pipe.zcard(KEYS.archive_claims("visitors"))
    pipe.zcard(KEYS.archive_finished)
    pipe.zcard(KEYS.archive_idle_visitors)
    return not any(await pipe.execute())


async def finished_conversations(
    target: Switchboard, redis_url: str, n: int, agents: int = 20, concurrency: int = 20, warm: int = 20
) -> dict[str, Any]:
    """Redis bytes per finished conversation, past the live window (the node's
    SWITCHBOARD_LIVE_RETENTION_S, set small by the caller), over `n` chats."""
    queue = "finished"
    await target.put_queue(queue, wrap_up_timeout_s=60)
    tokens = await target.agent_tokens(agents, queue, capacity=max(1, concurrency // agents + 1))
    desk = [await target.agent(i, t) for i, t in enumerate(tokens)]
    for conn in desk:
        conn.handler = _agent_handler(target, conn)

    async def chat(i: int) -> None:
        conn = await target.customer(i)
        try:
            await target.request(conn, {"type": "start_chat", "queue": queue}, 60)
            await conn.expect(lambda f: f["type"] == "chat.connected", 60)
            # the same words in every chat: the search index grows by conversations, not new words
            await target.request(conn, {"type": "message", "text": "hello, a question about my order"})
            await conn.expect(lambda f: f["type"] == "message" and f["from"]["role"] == "agent", 30)
            await target.request(conn, {"type": "end_chat"})
        finally:
            await conn.close()

    redis = aioredis.Redis.from_url(redis_url)
    try:

        async def trimmed(timeout: float) -> float | None:
            began = time.monotonic()
            while time.monotonic() - began < timeout:
                if await all_gone(redis):
                    return time.monotonic() - began
                await asyncio.sleep(0.2)
            return None

        # the first chats create what every later one shares (the queue's figures, streams)
        await gather_limited(warm, concurrency, chat)
        await trimmed(30)
        before = await redis_usage(redis)
        t0 = time.monotonic()
        await gather_limited(n, concurrency, chat)
        chats_s = time.monotonic() - t0
        waited = await trimmed(60 + n / 50)
        after = await redis_usage(redis)
    finally:
        await redis.aclose()
        await close_all(desk)
    grown = {
        kind: (count - before["by_kind"].get(kind, (0, 0))[0], size - before["by_kind"].get(kind, (0, 0))[1])
        for kind, (count, size) in after["by_kind"].items()
    }
    top = sorted(grown.items(), key=lambda kv: -kv[1][1])[:12]
    return {
        "chats": n,
        "chats_per_s": round(n / chats_s, 1),
        "trimmed_after_s": _r(waited),
        "used_memory_per_chat_b": round((after["used_memory"] - before["used_memory"]) / n, 1),
        "key_bytes_per_chat_b": round((after["key_bytes"] - before["key_bytes"]) / n, 1),
        "keys_per_chat": round((after["keys"] - before["keys"]) / n, 3),
        "grown_by_kind": {kind: {"keys": c, "bytes_per_chat": round(b / n, 1)} for kind, (c, b) in top},
    }


def _agent_handler(target: Switchboard, conn: Conn) -> Any:
    """Accepts every offer, answers every customer message once, wraps up every ended chat."""
    loop = asyncio.get_running_loop()
    sending: set[asyncio.Task[None]] = set()  # held until done: the loop keeps only weak references

    def send(frame: dict[str, Any]) -> None:
        task = loop.create_task(send_quietly(conn, target.encode(frame)))
        sending.add(task)
        task.add_done_callback(sending.discard)

    def handler(raw: Any) -> None:
        frame = target.decode(raw)
        kind = frame.get("type")
        if kind == "offer":
            send({"type": "accept", "offer_id": frame["offer_id"], "ref": "a"})
        elif kind == "message" and frame.get("from", {}).get("role") == "customer":
            send({"type": "message", "conversation_id": frame["conversation_id"], "text": "re", "ref": "m"})
        elif kind == "chat.ended":
            send({"type": "wrap_up", "conversation_id": frame["conversation_id"], "code": "done", "ref": "w"})

    return handler
