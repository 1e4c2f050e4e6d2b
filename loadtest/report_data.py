"""Months of a contact centre's history, straight into PostgreSQL, for timing the reports.

    python -m loadtest.report_data --database-url postgresql://... [--days 90] [--seats 200]

Writes the lifecycle events as the archiver writes them (`events`, bodies as the
Lua steps emit them) and the sessions of the interactions report (`sessions`,
with their `conversations` and `visitors`), a day at a time with COPY, then rolls
the reports up (record/reports.py `Reports.rebuild`, what a node's rollup worker
does for closed buckets). The days end at the last UTC midnight.

The centre: `seats` agents in eight queues, each working an eight-hour shift a day
(starting 07:00 to 10:00 UTC), with a 15-minute break and a 30-minute lunch (not
ready, with those reasons). Between them an agent takes a chat 10 to 50 minutes after the last:
about nine a day, a few seconds to two minutes of wait, 2 to 15 minutes of talk,
15 s to 2 minutes of wrap-up, one in three rated; 8 % of the customers leave
before an answer and 3 % of the offers ring out (RONA). About 55 events per seat
and day: 90 days of 200 seats are about a million events. Seeded: the same
arguments give the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from switchboard.domain.reporting import QueueRules
from switchboard.record.database import Database
from switchboard.record.migrations import migrate
from switchboard.record.reports import Reports

QUEUES = ("support", "sales", "billing", "returns", "technical", "vip", "spanish", "german")
WRAP_CODES = ("resolved", "follow_up", "upsell", "no_answer")
#: a rating's weight: customers who answer mostly liked it
RATING_WEIGHTS = (1, 1, 2, 4, 6)
DAY_MS = 86_400_000
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
EVENT_COLUMNS = ("id_ms", "id_n", "type", "occurred_at", "conversation_id", "session_id", "queue", "agent", "body")
CONVERSATION_COLUMNS = (
    "conversation_id",
    "visitor_id",
    "channel",
    "language",
    "created_at",
    "last_activity_at",
    "is_open",
    "ended_at",
)
SESSION_COLUMNS = (
    "session_id",
    "conversation_id",
    "queue",
    "status",
    "queued_at",
    "connected_at",
    "ended_at",
    "wrapped_at",
    "end_reason",
    "wrap_up_code",
    "csat_score",
    "agents",
    "customer_name",
    "view",
)


def at(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


@dataclass
class DayRows:
    """One day's rows, in the tables' column order."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)
    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    visitors: list[tuple[Any, ...]] = field(default_factory=list)


class Centre:
    """Writes the events of a day of the centre into DayRows, in time order per agent."""

    def __init__(self, seats: int, seed: int) -> None:
        self.seats = seats
        self.random = random.Random(seed)
        self.sequence = 0  # id_n of the next event: ids stay unique whatever their ms
        self.chats = 0

    def event(self, rows: DayRows, ts: int, event_type: str, **fields: Any) -> None:
        self.sequence += 1
        body = {"type": event_type, "ts": ts, **fields}
        rows.events.append(
            (
                ts,
                self.sequence,
                event_type,
                at(ts),
                fields.get("conversation_id"),
                fields.get("session_id"),
                fields.get("queue"),
                fields.get("agent"),
                json.dumps(body),
            )
        )

    def state(self, rows: DayRows, ts: int, agent: str, state: str, previous: str, reason: str = "") -> None:
        self.event(rows, ts, "agent.state_changed", agent=agent, state=state, previous=previous, reason=reason)

    def day(self, start_ms: int) -> DayRows:
        rows = DayRows()
        for seat in range(self.seats):
            self.shift(rows, start_ms, seat)
        return rows

    def shift(self, rows: DayRows, day_ms: int, seat: int) -> None:
        agent, queue = f"agent{seat:03d}", QUEUES[seat % len(QUEUES)]
        begin = day_ms + (7 + seat % 4) * HOUR_MS + self.random.randrange(10) * MINUTE_MS
        self.state(rows, begin, agent, "available", "offline")
        # working windows around the break (at 2 h, 15 min) and lunch (at 4 h, 30 min)
        windows = [
            (begin, begin + 2 * HOUR_MS, "Break", 15),
            (begin + 2 * HOUR_MS + 15 * MINUTE_MS, begin + 4 * HOUR_MS, "Lunch", 30),
        ]
        windows.append((begin + 4 * HOUR_MS + 30 * MINUTE_MS, begin + 8 * HOUR_MS, "", 0))
        for opens, closes, pause, pause_min in windows:
            t = opens
            while True:
                t = self.chat(rows, t + self.random.randrange(10, 50) * MINUTE_MS, closes, agent, queue)
                if t >= closes:
                    break
            end = max(t, closes)
            if pause:
                self.state(rows, end, agent, "not_ready", "available", pause)
                self.state(rows, end + pause_min * MINUTE_MS, agent, "available", "not_ready")
            else:
                self.state(rows, end, agent, "offline", "available")

    def chat(self, rows: DayRows, queued: int, closes: int, agent: str, queue: str) -> int:
        """One chat queued at `queued` for `agent`, unless the window closes first; returns when the agent is free."""
        r = self.random
        wait = r.randrange(2_000, 120_000)
        talk, wrap = r.randrange(120_000, 900_000), r.randrange(15_000, 120_000)
        if queued + wait + talk + wrap + 60_000 >= closes:
            return closes
        self.chats += 1
        cid, sid, vid = f"c{self.chats}", f"s{self.chats}", f"v{self.chats}"
        ids = {"conversation_id": cid, "session_id": sid, "queue": queue}
        self.event(rows, queued, "session.queued", **ids, channel="webchat", language="en")
        rows.visitors.append((vid, at(queued), at(queued)))
        if r.random() < 0.08:  # the customer leaves first
            ended = queued + r.randrange(1_000, 90_000)
            self.event(rows, ended, "session.ended", **ids, reason="customer_abandoned", waited_ms=ended - queued)
            self.record(rows, ids, vid, queued, None, ended, None, "customer_abandoned", None, None, [])
            return queued
        offered = queued + wait - 3_000 if wait > 3_000 else queued
        if r.random() < 0.03:  # the offer rings out; the agent comes back 30 s later and takes it
            self.event(rows, offered, "session.offered", **ids, agent=agent, kind="session")
            self.event(rows, offered + 20_000, "session.rona", **ids, agent=agent, kind="session")
            self.state(rows, offered + 20_000, agent, "rona", "available", "Offer not answered")
            self.state(rows, offered + 50_000, agent, "available", "rona")
            offered += 50_000
            wait += 50_000
        connected = queued + wait
        ended, wrapped = connected + talk, connected + talk + wrap
        self.event(rows, offered, "session.offered", **ids, agent=agent, kind="session")
        self.event(rows, connected, "session.connected", **ids, agent=agent, wait_ms=wait)
        reason = "customer_ended" if r.random() < 0.6 else "agent_ended"
        self.event(rows, ended, "session.ended", **ids, agent=agent, reason=reason, handle_ms=talk, wait_ms=wait)
        rating = r.choices(range(1, 6), RATING_WEIGHTS)[0] if r.random() < 1 / 3 else None
        if rating is not None:
            self.event(rows, ended, "csat.submitted", **ids, agent=agent, rating=rating)
        code = r.choice(WRAP_CODES)
        self.event(rows, wrapped, "session.wrapped_up", **ids, agent=agent, code=code, talk_ms=talk, wrap_ms=wrap)
        self.record(rows, ids, vid, queued, connected, ended, wrapped, reason, code, rating, [agent])
        return wrapped

    def record(
        self,
        rows: DayRows,
        ids: dict[str, str],
        vid: str,
        queued: int,
        connected: int | None,
        ended: int,
        wrapped: int | None,
        reason: str,
        code: str | None,
        rating: int | None,
        agents: list[str],
    ) -> None:
        """The session's row, and its conversation's, as the archiver leaves them once closed."""
        cid = ids["conversation_id"]
        rows.conversations.append((cid, vid, "webchat", "en", at(queued), at(wrapped or ended), False, at(ended)))
        rows.sessions.append(
            (
                ids["session_id"],
                cid,
                ids["queue"],
                "closed",
                at(queued),
                at(connected),
                at(ended),
                at(wrapped),
                reason,
                code,
                rating,
                agents,
                f"Customer {self.chats}",
                "{}",
            )
        )


def day_starts(days: int, end: datetime) -> Iterator[int]:
    first = int((end - timedelta(days=days)).timestamp() * 1000)
    return iter(range(first, first + days * DAY_MS, DAY_MS))


async def load(database_url: str, days: int, seats: int, seed: int = 22, log: Any = print) -> dict[str, Any]:
    """Writes the days and rolls them up; returns what was written and how long it took."""
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    centre = Centre(seats, seed)
    connection = await asyncpg.connect(database_url)
    started = time.perf_counter()
    counts = {"events": 0, "sessions": 0}
    try:
        await migrate(connection)
        for day_ms in day_starts(days, end):
            rows = centre.day(day_ms)
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "visitors", records=rows.visitors, columns=("visitor_id", "created_at", "last_seen_at")
                )
                await connection.copy_records_to_table(
                    "conversations",
                    records=rows.conversations,
                    columns=CONVERSATION_COLUMNS,
                )
                await connection.copy_records_to_table("sessions", records=rows.sessions, columns=SESSION_COLUMNS)
                await connection.copy_records_to_table("events", records=rows.events, columns=EVENT_COLUMNS)
            counts["events"] += len(rows.events)
            counts["sessions"] += len(rows.sessions)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    loaded = time.perf_counter() - started
    log(f"loaded {counts['events']} events and {counts['sessions']} sessions of {days} days in {loaded:.1f} s")
    database = Database(database_url, 2)
    await database.start()
    try:
        start_ms = int((end - timedelta(days=days)).timestamp() * 1000)
        rules = {queue: QueueRules() for queue in QUEUES}
        buckets = await Reports(database).rebuild(start_ms, int(end.timestamp() * 1000), rules, int(time.time() * 1000))
    finally:
        await database.stop()
    rolled = time.perf_counter() - started - loaded
    log(f"rolled up {buckets} buckets in {rolled:.1f} s")
    return {**counts, "days": days, "seats": seats, "load_s": round(loaded, 1), "rollup_s": round(rolled, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="PostgreSQL (the schema is migrated first)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    asyncio.run(load(args.database_url, args.days, args.seats, args.seed))


if __name__ == "__main__":
    main()
