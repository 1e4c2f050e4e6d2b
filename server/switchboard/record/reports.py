"""Reads of the queue and agent reports: counters per 15-minute bucket, from PostgreSQL.

The lifecycle events the archiver copies into `events` are folded by the one
definition of every figure (domain/reporting.py). Closed buckets come from the
rollups (`report_queue_buckets`, `report_agent_buckets`, migration 0008) that
`roll` keeps; what is not rolled up yet (the open tail, a bucket a late event
made stale, the ragged ends of a range that does not start or end on a bucket)
is folded from the raw events at read time, so a report is always complete.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Collection, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from functools import cached_property
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


@dataclass
class _Table:
    """A rollup table: one column per counter of `counters`."""

    name: str
    key: str
    counters: type[Any]

    @cached_property
    def numbers(self) -> list[str]:
        return [f.name for f in fields(self.counters) if f.default_factory is MISSING]

    @cached_property
    def maps(self) -> list[str]:
        return [f.name for f in fields(self.counters) if f.default_factory is not MISSING]

    def select(self) -> str:
        """Sums per interval of the rolled-up rows of [$4, $5): $1, $2 map each bucket (or hour) to
        its interval's number (a stale one is left out of the map), $3 the keys wanted (null: all)."""
        sums = ", ".join(f"{'max' if c.startswith('max_') else 'sum'}(t.{c})::bigint" for c in self.numbers)
        return f"SELECT m.number, t.{self.key}, {sums} {self._where()}"

    def select_maps(self) -> str:
        """The keyed counters' sums per interval: (number, key, counter, name, total)."""
        selects = []
        for name in self.maps:
            joined, only = f", jsonb_each_text(t.{name}) AS entry", f" AND t.{name} <> '{{}}'"
            selects.append(
                f"SELECT m.number, t.{self.key}, '{name}', entry.key, sum(entry.value::bigint)::bigint"
                f" {self._where(joined, only, '1, 2, 4')}"
            )
        return " UNION ALL ".join(selects)

    def _where(self, joined: str = "", only: str = "", group: str = "1, 2") -> str:
        # a join on each bucket's interval number: a hash join, much cheaper than width_bucket per row
        return (
            f"FROM {self.name} t JOIN unnest($1::timestamptz[], $2::int[]) AS m (bucket, number) ON m.bucket = t.bucket"
            f"{joined} WHERE t.bucket >= $4 AND t.bucket < $5 AND ($3::text[] IS NULL OR t.{self.key} = ANY($3)){only}"
            f" GROUP BY {group}"
        )

    def insert(self) -> str:
        columns = ["bucket", self.key, *self.numbers, *self.maps]
        places = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
        return f"INSERT INTO {self.name} ({', '.join(columns)}) VALUES ({places})"

    def row(self, bucket: int, key: str, c: Any) -> tuple[Any, ...]:
        return (at(bucket), key, *(getattr(c, n) for n in self.numbers), *(getattr(c, m) for m in self.maps))


HOUR_MS = 3600 * 1000
#: (15-minute table, hour table) of queues and of agents
ROLLUPS = (
    (_Table("report_queue_buckets", "queue", QueueCounters), _Table("report_queue_hours", "queue", QueueCounters)),
    (_Table("report_agent_buckets", "agent", AgentCounters), _Table("report_agent_hours", "agent", AgentCounters)),
)
#: pg_advisory_xact_lock's key of a rollup: "sbreport" read as a number.
ROLLUP_LOCK = int.from_bytes(b"sbreport", "big") & 0x7FFF_FFFF_FFFF_FFFF
#: A rebuild folds at most this much at once (a day of a 200-seat centre: some 11,000 events).
REBUILD_CHUNK_MS = 24 * 3600 * 1000


def _ceil_bucket(ts_ms: int) -> int:
    return -bucket_of(-ts_ms)


def _hour_of(ts_ms: int) -> int:
    return ts_ms - ts_ms % HOUR_MS


def _ceil_hour(ts_ms: int) -> int:
    return -_hour_of(-ts_ms)


def _spans(first: int, last: int, boundaries: Sequence[int]) -> list[tuple[int, int, int]]:
    """[first, last) as (level, start, end): 0 the 15-minute rows, 1 the hour rows, which serve
    where every interval border is a whole hour (UTC)."""
    hours = _ceil_hour(first), _hour_of(last)
    if hours[0] < hours[1] and all(b % HOUR_MS == 0 for b in boundaries[1:-1]):
        return [(0, first, hours[0]), (1, *hours), (0, hours[1], last)]
    return [(0, first, last)]


def _stored(counters: Mapping[tuple[int, str], Any]) -> dict[tuple[int, str], Any]:
    """What a rollup keeps: a queue's bucket with any count, an agent's with more than offline time."""
    return {k: c for k, c in counters.items() if (c.active() if isinstance(c, AgentCounters) else not c.empty())}


def _by_hour(counters: Mapping[tuple[int, str], Any]) -> dict[tuple[int, str], Any]:
    hours: dict[tuple[int, str], Any] = {}
    for (bucket, key), c in counters.items():
        into = hours.get((_hour_of(bucket), key))
        if into is None:
            into = hours[(_hour_of(bucket), key)] = type(c)()
        into.add(c)
    return hours


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
                rows = await connection.fetch(
                    "SELECT hour FROM report_stale_hours WHERE hour >= $1 AND hour < $2", at(_hour_of(first)), at(last)
                )
                stale = {ms(row["hour"]) or 0 for row in rows}
                raw += [(max(h, first), min(h + HOUR_MS, last)) for h in sorted(stale)]
                for level, a, b in _spans(first, last, boundaries):
                    slots = [t for t in range(a, b, HOUR_MS if level else BUCKET_MS) if _hour_of(t) not in stale]
                    numbers = [bisect_right(boundaries, t) for t in slots]
                    for tables, keys, into in ((ROLLUPS[0], queues, found.queues), (ROLLUPS[1], agents, found.agents)):
                        if slots and (keys is None or keys):
                            only = list(keys) if keys is not None else None
                            arguments = [[at(t) for t in slots], numbers, only, at(a), at(b)]
                            await _sum_rollups(connection, tables[level], arguments, into)
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
        """Rolls up (again) every hour that meets [start_ms, end_ms), a day at a time, one node at a
        time (an advisory lock: with `wait` False, gives up at once when another node holds it); the
        watermark moves on when the range starts at or before it. Idempotent. Returns the buckets rolled."""
        start, end = _hour_of(start_ms), _ceil_hour(end_ms)
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
            made: tuple[dict[tuple[int, str], Any], ...] = (folded.queues, folded.agents)
            for tables, counters in zip(ROLLUPS, made, strict=True):
                buckets = _stored(counters)
                for table, rows in zip(tables, (buckets, _by_hour(buckets)), strict=True):
                    await connection.execute(
                        f"DELETE FROM {table.name} WHERE bucket >= $1 AND bucket < $2", at(start), at(stop)
                    )
                    if rows:
                        await connection.executemany(table.insert(), [table.row(t, k, c) for (t, k), c in rows.items()])
            await connection.execute(
                "DELETE FROM report_stale_hours WHERE hour >= $1 AND hour < $2", at(start), at(stop)
            )
            await connection.execute(
                "INSERT INTO report_rollup (rolled_until) VALUES ($2) ON CONFLICT (only_row) DO UPDATE"
                " SET rolled_until = $2 WHERE report_rollup.rolled_until >= $1 AND report_rollup.rolled_until < $2",
                at(start),
                at(stop),
            )
        return True

    async def roll(self, closed_before_ms: int, rules: Mapping[str, QueueRules], now_ms: int) -> int:
        """One step of the rollup worker: the stale hours again, then the next closed hours (those
        ending by `closed_before_ms`), a day at most. Returns the buckets rolled (0: nothing to do, or
        another node is at it)."""
        async with self.database.pool.acquire() as connection:
            stale = [
                ms(row["hour"]) or 0
                for row in await connection.fetch("SELECT hour FROM report_stale_hours ORDER BY hour LIMIT 24")
            ]
            rolled_until = await _rolled_until(connection)
            if rolled_until is None:  # the first step: from the oldest event on
                oldest = await connection.fetchval("SELECT min(occurred_at) FROM events")
                rolled_until = _hour_of(ms(oldest) or closed_before_ms)
                await connection.execute(
                    "INSERT INTO report_rollup (rolled_until) VALUES ($1) ON CONFLICT DO NOTHING", at(rolled_until)
                )
        rolled = 0
        for hour in stale:
            rolled += await self.rebuild(hour, hour + HOUR_MS, rules, now_ms, wait=False)
        target = min(_hour_of(closed_before_ms), rolled_until + REBUILD_CHUNK_MS)
        if rolled_until < target:
            rolled += await self.rebuild(rolled_until, target, rules, now_ms, wait=False)
        return rolled


async def _rolled_until(connection: Connection) -> int | None:
    return ms(await connection.fetchval("SELECT rolled_until FROM report_rollup"))


async def _sum_rollups(
    connection: Connection, table: _Table, arguments: list[Any], into: dict[tuple[int, str], Any]
) -> None:
    async with connection.transaction():
        # compiling these sums to machine code takes seconds; running them takes less
        await connection.execute("SET LOCAL jit = off")
        numbers = await connection.fetch(table.select(), *arguments)
        maps = await connection.fetch(table.select_maps(), *arguments)
    names = table.numbers
    for number, key, *values in numbers:
        summed = table.counters(**dict(zip(names, values, strict=True)))
        if (c := into.get((number, key))) is None:
            into[(number, key)] = summed
        else:
            c.add(summed)
    for number, key, counter, name, total in maps:
        c = into.get((number, key))
        if c is None:
            c = into[(number, key)] = table.counters()
        values = getattr(c, counter)
        values[name] = values.get(name, 0) + total
