"""Reads for live figures: `/metrics`, `GET /api/v1/stats` and the supervisors' feed.

Every read is bounded: the sets of queues and agents (objects an administrator
created) and the counters hash, then one pipeline over those queues and
agents; lifecycle events by stream id ranges with a cap. No KEYS, no SCAN of
the keyspace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from redis.asyncio import Redis

from ..domain.reporting import DEFAULT_SHORT_ABANDON_S
from ..domain.stats import MAX_EVENTS, AgentNow, QueueNow
from .clock import now_ms
from .errors import call, store_call
from .keys import Keys

_decode = msgspec.json.Decoder().decode
DEFAULT_SERVICE_LEVEL_S = 20
EVENTS_CHUNK = 10_000


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Snapshot:
    """The live state of queues and agents, read at `now_ms`."""

    now_ms: int
    queues: list[QueueNow]
    agents: list[AgentNow]
    counters: dict[str, int] = field(default_factory=dict)


@dataclass
class RecentEvents:
    """Lifecycle events since a time, oldest first, at most a cap of them."""

    events: list[dict[str, Any]]
    newest_id: str  # the stream's newest entry id ("0-0" when empty): follow from here
    complete_from_ms: int  # later than the asked start when the cap left older events out
    truncated: bool = False


class Figures:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def snapshot(self, counters: bool = False) -> Snapshot:
        k = self.keys
        with store_call:
            pipe = self.redis.pipeline(transaction=False)
            pipe.smembers(k.queues)
            pipe.smembers(k.agents)
            if counters:
                pipe.hgetall(k.counters)
            first = await pipe.execute()
            now = now_ms()
            qids = sorted(_s(q) for q in first[0])
            aids = sorted(_s(a) for a in first[1])
            pipe = self.redis.pipeline(transaction=False)
            for qid in qids:
                pipe.hmget(k.queue(qid), "name", "config")
                pipe.zcard(k.queue_waiting(qid))
                pipe.zrange(k.queue_age(qid), 0, 0, withscores=True)
            for aid in aids:
                pipe.hmget(k.agent(aid), "state", "queues", "role", "display_name", "since", "capacity", "reason")
                pipe.scard(k.agent_slots(aid))
            rows = await pipe.execute()
        queues = []
        for i, qid in enumerate(qids):
            (name, config), waiting, oldest = rows[3 * i : 3 * i + 3]
            if config is None:  # deleted meanwhile
                continue
            configured = _decode(config)
            level = configured.get("service_level_s", DEFAULT_SERVICE_LEVEL_S)
            short = configured.get("short_abandon_s", DEFAULT_SHORT_ABANDON_S)
            longest = max(0, now - int(oldest[0][1])) if oldest else 0
            queues.append(QueueNow(qid, _s(name) if name else qid, level, int(waiting), longest, short))
        agents = []
        base = 3 * len(qids)
        for i, aid in enumerate(aids):
            (state, member_of, role, name, since, capacity, reason), held = rows[base + 2 * i : base + 2 * i + 2]
            if state is None:
                continue
            agents.append(
                AgentNow(
                    aid,
                    _s(state),
                    int(held),
                    tuple(_decode(member_of or b"[]")),
                    _s(role) if role else "agent",
                    _s(name) if name else aid,
                    int(since or 0),
                    int(capacity or 0),
                    _s(reason) if reason else "",
                )
            )
        totals = {_s(f): int(v) for f, v in first[2].items()} if counters else {}
        return Snapshot(now, queues, agents, totals)

    async def recent_events(self, start_ms: int, limit: int = MAX_EVENTS) -> RecentEvents:
        """The events from `start_ms` on (by stream id, i.e. by the time Redis
        added them), newest first in chunks, at most `limit`: when there are
        more, the oldest are left out and `complete_from_ms` says from when the
        events are complete."""
        key = self.keys.events
        newest: list[tuple[bytes, dict[bytes, bytes]]] = []
        upper = "+"
        cut = False
        while True:
            want = min(EVENTS_CHUNK, limit + 1 - len(newest))
            chunk = await call(self.redis.xrevrange(key, upper, f"{start_ms}-0", count=want))
            newest.extend(chunk)
            if len(newest) > limit:
                newest = newest[:limit]
                cut = True
                break
            if len(chunk) < want:
                break
            upper = f"({_s(chunk[-1][0])}"
        if newest:
            newest_id = _s(newest[0][0])
        else:
            last = await call(self.redis.xrevrange(key, "+", "-", count=1))
            newest_id = _s(last[0][0]) if last else "0-0"
        events = [_decode(fields[b"e"]) for _id, fields in reversed(newest)]
        complete_from = start_ms
        if cut and events:
            # events of the oldest kept millisecond may be cut too: complete from the next one
            complete_from = max(start_ms, int(_s(newest[-1][0]).partition("-")[0]) + 1)
        return RecentEvents(events, newest_id, complete_from, cut)

    async def follow(self, after_id: str, block_ms: int, count: int = 1000) -> list[tuple[str, dict[str, Any]]]:
        """The events after stream id `after_id`, waiting up to `block_ms` for one."""
        reply = await call(self.redis.xread({self.keys.events: after_id}, count=count, block=max(1, block_ms)))
        if not reply:
            return []
        return [(_s(eid), _decode(fields[b"e"])) for eid, fields in reply[0][1]]
