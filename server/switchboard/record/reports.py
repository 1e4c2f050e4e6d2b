"""Reads of the queue and agent reports: counters per 15-minute bucket, from PostgreSQL.

The lifecycle events the archiver copies into `events` are folded by the one
definition of every figure (domain/reporting.py). Closed buckets come from the
rollups (`report_queue_buckets`, `report_agent_buckets`, migration 0008) that
`roll` keeps; what is not rolled up yet (the open tail, a bucket a late event
made stale, the ragged ends of a range that does not start or end on a bucket)
is folded from the raw events at read time, so a report is always complete.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

import asyncpg

from ..domain.intervals import BUCKET_MS, bucket_of
from ..domain.reporting import (
    AgentCounters,
    AgentStart,
    Folder,
    QueueCounters,
    QueueRules,
    into_intervals,
    sessions_held,
)
from .database import Database, at, ms

Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy

#: The sessions an agent holds when a fold starts are worked out from the slot changes
#: of this long before it (a chat held longer is not counted busy at the fold's start).
HELD_LOOKBACK_MS = 12 * 3600 * 1000
_SLOT_EVENTS = [
    "session.connected",
    "session.conference_started",
    "session.conference_ended",
    "session.wrapped_up",
    "session.transferred",
]


@dataclass
class BucketCounters:
    """Counters by (bucket start ms, queue) and (bucket start ms, agent)."""

    queues: dict[tuple[int, str], QueueCounters]
    agents: dict[tuple[int, str], AgentCounters]


async def _raw_events(connection: Connection, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        "SELECT id_ms, body FROM events WHERE occurred_at >= $1 AND occurred_at < $2 ORDER BY id_ms, id_n",
        at(start_ms),
        at(end_ms),
    )
    events = []
    for row in rows:
        body = row["body"]
        if isinstance(body, dict):
            body.setdefault("ts", row["id_ms"])
            events.append(body)
    return events


async def agent_starts(connection: Connection, start_ms: int) -> dict[str, AgentStart]:
    """Each agent's state (its last change before `start_ms`) and the sessions it held then."""
    rows = await connection.fetch(
        "SELECT DISTINCT ON (agent) agent, body FROM events"
        " WHERE type = 'agent.state_changed' AND agent IS NOT NULL AND occurred_at < $1"
        " ORDER BY agent, occurred_at DESC, id_ms DESC, id_n DESC",
        at(start_ms),
    )
    starts = {
        row["agent"]: AgentStart(str(row["body"].get("state") or "offline"), str(row["body"].get("reason") or ""))
        for row in rows
    }
    slot_rows = await connection.fetch(
        "SELECT body FROM events WHERE type = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at < $3"
        " ORDER BY id_ms, id_n",
        _SLOT_EVENTS,
        at(start_ms - HELD_LOOKBACK_MS),
        at(start_ms),
    )
    for aid, held in sessions_held(row["body"] for row in slot_rows).items():
        if held:
            starts.setdefault(aid, AgentStart()).held = held
    return starts


async def fold_range(
    connection: Connection, start_ms: int, end_ms: int, rules: Mapping[str, QueueRules], now_ms: int
) -> BucketCounters:
    """The raw events of [start_ms, end_ms) folded into bucket counters (agents' time up to now at most)."""
    folder = Folder(start_ms, end_ms, rules, await agent_starts(connection, start_ms))
    folder.fold(await _raw_events(connection, start_ms, end_ms)).finish(now_ms)
    return BucketCounters(folder.queues, folder.agents)


@dataclass(frozen=True)
class _Table:
    """A rollup table: one column per counter of `counters`."""

    name: str
    key: str
    counters: type[Any]

    @property
    def numbers(self) -> list[str]:
        return [f.name for f in fields(self.counters) if f.default_factory is MISSING]

    @property
    def maps(self) -> list[str]:
        return [f.name for f in fields(self.counters) if f.default_factory is not MISSING]

    def select(self) -> str:
        """Sums per interval ($1 the intervals' starts) of the rolled-up buckets of [$2, $3), of keys $4, not stale."""
        sums = ", ".join(f"{'max' if c.startswith('max_') else 'sum'}({c})::bigint" for c in self.numbers)
        return f"SELECT width_bucket(bucket, $1::timestamptz[]) AS number, {self.key} AS key, {sums} {self._where()}"

    def select_maps(self) -> str:
        return " UNION ALL ".join(
            f"SELECT width_bucket(bucket, $1::timestamptz[]) AS number, {self.key} AS key, '{m}' AS counter,"
            f" entry.key AS name, sum(entry.value::bigint)::bigint AS total"
            f" {self._where(f', jsonb_each_text({m}) AS entry', group='1, 2, 4')}"
            for m in self.maps
        )

    def _where(self, joined: str = "", group: str = "1, 2") -> str:
        return (
            f"FROM {self.name}{joined} WHERE bucket >= $2 AND bucket < $3 AND ($4::text[] IS NULL OR {self.key} = ANY($4))"
            " AND bucket NOT IN (SELECT bucket FROM report_stale_buckets WHERE bucket >= $2 AND bucket < $3)"
            f" GROUP BY {group}"
        )

    def insert(self) -> str:
        columns = ["bucket", self.key, *self.numbers, *self.maps]
        places = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        return f"INSERT INTO {self.name} ({', '.join(columns)}) VALUES ({places})"

    def row(self, bucket: int, key: str, c: Any) -> tuple[Any, ...]:
        return (at(bucket), key, *(getattr(c, n) for n in self.numbers), *(getattr(c, m) for m in self.maps))


QUEUE_ROLLUPS = _Table("report_queue_buckets", "queue", QueueCounters)
AGENT_ROLLUPS = _Table("report_agent_buckets", "agent", AgentCounters)
#: pg_advisory_xact_lock's key of a rollup: "sbreport" read as a number.
ROLLUP_LOCK = int.from_bytes(b"sbreport", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: A rebuild folds at most this much at once (a day of a 200-seat centre: some 11,000 events).
REBUILD_CHUNK_MS = 24 * 3600 * 1000


def _ceil_bucket(ts_ms: int) -> int:
    return -bucket_of(-ts_ms)


@dataclass
class IntervalCounters:
    """Counters by (interval number, queue) and (interval number, agent); interval i spans
    [boundaries[i - 1], boundaries[i])."""

    queues: dict[tuple[int, str], QueueCounters]
    agents: dict[tuple[int, str], AgentCounters]


def _only(counters: dict[tuple[int, str], Any], keys: Collection[str] | None) -> dict[tuple[int, str], Any]:
    return {k: c for k, c in counters.items() if keys is None or k[1] in keys}


class Reports:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def counters(
        self,
        start_ms: int,
        end_ms: int,
        boundaries: Sequence[int],
        rules: Mapping[str, QueueRules],
        now_ms: int,
        queues: Collection[str] | None = None,
        agents: Collection[str] | None = None,
    ) -> IntervalCounters:
        """The counters of each interval between `boundaries` (ms, ascending), of only `queues` /
        `agents` when given, over [start_ms, end_ms) (within the boundaries): the rolled-up buckets
        summed in PostgreSQL, the rest folded from raw events."""
        found = IntervalCounters({}, {})
        async with self.database.pool.acquire() as connection:
            rolled_until = await _rolled_until(connection) or start_ms
            first, last = _ceil_bucket(start_ms), min(bucket_of(end_ms), rolled_until)
            raw = [(start_ms, end_ms)]
            if first < last:
                raw = [(start_ms, first), (last, end_ms)]
                stale = await connection.fetch(
                    "SELECT bucket FROM report_stale_buckets WHERE bucket >= $1 AND bucket < $2 ORDER BY bucket",
                    at(first),
                    at(last),
                )
                raw += [(b, b + BUCKET_MS) for b in (ms(row["bucket"]) or 0 for row in stale)]
                arguments = ([at(b) for b in boundaries[:-1]], at(first), at(last))
                for table, into in ((QUEUE_ROLLUPS, found.queues), (AGENT_ROLLUPS, found.agents)):
                    keys = queues if table is QUEUE_ROLLUPS else agents
                    if keys is None or keys:
                        await _sum_rollups(
                            connection, table, [*arguments, list(keys) if keys is not None else None], into
                        )
            for a, b in raw:
                if a < b:
                    folded = await fold_range(connection, a, b, rules, now_ms)
                    into_intervals(_only(folded.queues, queues), boundaries, found.queues, QueueCounters)
                    active = {k: c for k, c in folded.agents.items() if c.active()}
                    into_intervals(_only(active, agents), boundaries, found.agents, AgentCounters)
        return found

    async def rebuild(
        self, start_ms: int, end_ms: int, rules: Mapping[str, QueueRules], now_ms: int, wait: bool = True
    ) -> int:
        """Rolls up (again) every bucket that meets [start_ms, end_ms), a day at a time, one node at a
        time (an advisory lock: with `wait` False, gives up at once when another node holds it); the
        watermark moves on when the range starts at or before it. Idempotent. Returns the buckets rolled."""
        start, end = bucket_of(start_ms), _ceil_bucket(end_ms)
        rolled = 0
        while start < end:
            stop = min(end, start + REBUILD_CHUNK_MS)
            if not await self._rebuild_chunk(start, stop, rules, now_ms, wait):
                return rolled
            rolled += (stop - start) // BUCKET_MS
            start = stop
        return rolled

    async def _rebuild_chunk(
        self, start: int, stop: int, rules: Mapping[str, QueueRules], now_ms: int, wait: bool
    ) -> bool:
        async with self.database.pool.acquire() as connection, connection.transaction():
            if wait:
                await connection.execute("SELECT pg_advisory_xact_lock($1)", ROLLUP_LOCK)
            elif not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", ROLLUP_LOCK):
                return False
            folded = await fold_range(connection, start, stop, rules, now_ms)
            for table, counters in ((QUEUE_ROLLUPS, folded.queues), (AGENT_ROLLUPS, folded.agents)):
                await connection.execute(
                    f"DELETE FROM {table.name} WHERE bucket >= $1 AND bucket < $2", at(start), at(stop)
                )
                rows = [
                    table.row(bucket, key, c)
                    for (bucket, key), c in counters.items()
                    if (c.active() if isinstance(c, AgentCounters) else not c.empty())
                ]
                if rows:
                    await connection.executemany(table.insert(), rows)
            await connection.execute(
                "DELETE FROM report_stale_buckets WHERE bucket >= $1 AND bucket < $2", at(start), at(stop)
            )
            await connection.execute(
                "INSERT INTO report_rollup (rolled_until) VALUES ($2) ON CONFLICT (only_row) DO UPDATE"
                " SET rolled_until = $2 WHERE report_rollup.rolled_until >= $1 AND report_rollup.rolled_until < $2",
                at(start),
                at(stop),
            )
        return True

    async def roll(self, closed_before_ms: int, rules: Mapping[str, QueueRules], now_ms: int) -> int:
        """One step of the rollup worker: the stale buckets again, then the next closed buckets (those
        ending by `closed_before_ms`), a day at most. Returns the buckets rolled (0: nothing to do, or
        another node is at it)."""
        async with self.database.pool.acquire() as connection:
            stale = [
                ms(row["bucket"]) or 0
                for row in await connection.fetch("SELECT bucket FROM report_stale_buckets ORDER BY bucket LIMIT 96")
            ]
            rolled_until = await _rolled_until(connection)
            if rolled_until is None:  # the first step: from the oldest event on
                oldest = await connection.fetchval("SELECT min(occurred_at) FROM events")
                rolled_until = bucket_of(ms(oldest) or closed_before_ms)
                await connection.execute(
                    "INSERT INTO report_rollup (rolled_until) VALUES ($1) ON CONFLICT DO NOTHING", at(rolled_until)
                )
        rolled = 0
        for bucket in stale:
            rolled += await self.rebuild(bucket, bucket + BUCKET_MS, rules, now_ms, wait=False)
        target = min(bucket_of(closed_before_ms), rolled_until + REBUILD_CHUNK_MS)
        if rolled_until < target:
            rolled += await self.rebuild(rolled_until, target, rules, now_ms, wait=False)
        return rolled


async def _rolled_until(connection: Connection) -> int | None:
    return ms(await connection.fetchval("SELECT rolled_until FROM report_rollup"))


async def _sum_rollups(
    connection: Connection, table: _Table, arguments: list[Any], into: dict[tuple[int, str], Any]
) -> None:
    for row in await connection.fetch(table.select(), *arguments):
        number, key, *values = row
        c = into.get((number, key))
        if c is None:
            c = into[(number, key)] = table.counters()
        c.add(table.counters(**dict(zip(table.numbers, values, strict=True))))
    for number, key, counter, name, total in await connection.fetch(table.select_maps(), *arguments):
        c = into.get((number, key))
        if c is None:
            c = into[(number, key)] = table.counters()
        values = getattr(c, counter)
        values[name] = values.get(name, 0) + total
