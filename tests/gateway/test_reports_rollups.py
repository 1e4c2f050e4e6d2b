"""The rollups against the raw events they sum, in real PostgreSQL: two days of known events (across a change
of daylight saving time), reported raw and from the rollups, in several intervals and zones, agree to the unit."""

from __future__ import annotations

import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from switchboard.domain.intervals import Interval, interval_starts, to_ms
from switchboard.domain.reporting import QueueRules, agent_figures, queue_figures
from switchboard.record.archive import Archive
from switchboard.record.database import Database
from switchboard.record.reports import Reports

PARIS = ZoneInfo("Europe/Paris")
# the night Paris goes from +02:00 to +01:00
DAY_START = to_ms(datetime(2026, 10, 24, 6, tzinfo=PARIS))
DAY_END = to_ms(datetime(2026, 10, 25, 20, tzinfo=PARIS))
RULES = {"sales": QueueRules(service_level_s=20, short_abandon_s=5), "care": QueueRules(service_level_s=60)}
AGENTS = ("ann", "bob", "cid")
S = 1000


def day_of_events(seed: int) -> list[dict]:
    """Agents signing in, pausing and leaving; chats answered (offered, accepted, wrapped up, rated) or abandoned."""
    rng = random.Random(seed)
    events: list[dict] = []
    for n, aid in enumerate(AGENTS):
        for day in (0, 1):
            base = DAY_START + day * 86_400_000 + n * 600 * S
            events.append(
                {"type": "agent.state_changed", "ts": base, "agent": aid, "state": "available", "previous": "offline"}
            )
            events.append(
                {
                    "type": "agent.state_changed",
                    "ts": base + 4 * 3600 * S,
                    "agent": aid,
                    "state": "not_ready",
                    "previous": "available",
                    "reason": "Lunch",
                }
            )
            events.append(
                {
                    "type": "agent.state_changed",
                    "ts": base + 5 * 3600 * S,
                    "agent": aid,
                    "state": "available",
                    "previous": "not_ready",
                    "reason": "",
                }
            )
            events.append(
                {
                    "type": "agent.state_changed",
                    "ts": base + 9 * 3600 * S + 7 * S,
                    "agent": aid,
                    "state": "offline",
                    "previous": "available",
                }
            )
    for i in range(300):
        queue = rng.choice(("sales", "care"))
        sid = f"s{i}"
        queued = DAY_START + rng.randrange(0, DAY_END - DAY_START - 3 * 3600 * S)
        events.append(
            {
                "type": "session.queued",
                "ts": queued,
                "queue": queue,
                "session_id": sid,
                "channel": rng.choice(("webchat", "messaging")),
            }
        )
        wait = rng.randrange(0, 120) * S + rng.randrange(S)
        if rng.random() < 0.2:
            events.append(
                {
                    "type": "session.ended",
                    "ts": queued + wait,
                    "queue": queue,
                    "session_id": sid,
                    "reason": "customer_abandoned",
                    "waited_ms": wait,
                }
            )
            continue
        agent = rng.choice(AGENTS)
        events.append(
            {"type": "session.offered", "ts": queued + wait - 500, "queue": queue, "session_id": sid, "agent": agent}
        )
        events.append(
            {
                "type": "session.connected",
                "ts": queued + wait,
                "queue": queue,
                "session_id": sid,
                "agent": agent,
                "wait_ms": wait,
            }
        )
        talk, wrap = rng.randrange(60, 1800) * S, rng.randrange(5, 300) * S
        ended = queued + wait + talk
        events.append(
            {
                "type": "session.ended",
                "ts": ended,
                "queue": queue,
                "session_id": sid,
                "agent": agent,
                "reason": "customer_ended",
            }
        )
        code = rng.choice(("sale", "resolved"))
        events.append(
            {
                "type": "session.wrapped_up",
                "ts": ended + wrap,
                "queue": queue,
                "session_id": sid,
                "agent": agent,
                "code": code,
                "talk_ms": talk,
                "wrap_ms": wrap,
            }
        )
        if rng.random() < 0.5:
            events.append(
                {
                    "type": "csat.submitted",
                    "ts": ended + 30 * S,
                    "queue": queue,
                    "session_id": sid,
                    "agent": agent,
                    "rating": rng.randrange(1, 6),
                }
            )
    return sorted(events, key=lambda e: e["ts"])


async def report(reports: Reports, start: int, end: int, interval: Interval, zone: ZoneInfo) -> tuple[dict, dict]:
    intervals = list(interval_starts(start, end, interval, zone))
    boundaries = [to_ms(s) for s, _ in intervals] + [intervals[-1][1]]
    found = await reports.counters(start, end, boundaries, RULES, DAY_END + 86_400_000)
    return (
        {k: queue_figures(c) for k, c in found.queues.items()},
        {k: agent_figures(c) for k, c in found.agents.items()},
    )


@pytest.fixture
async def reports(database_url):
    database = Database(database_url, 4)
    await database.start()
    events = day_of_events(22)
    await Archive(database).write_events([(f"{e['ts']}-{n}", e) for n, e in enumerate(events)])
    yield Reports(database)
    await database.stop()


CASES = [
    (Interval.QUARTER_HOUR, "UTC"),
    (Interval.HOUR, "Europe/Paris"),
    (Interval.HOUR, "Asia/Kolkata"),
    (Interval.DAY, "Europe/Paris"),
    (Interval.WEEK, "America/New_York"),
]


async def test_the_rollups_and_the_raw_events_give_the_same_report(reports):
    # ragged ends: neither starts nor ends on a bucket
    start, end = DAY_START + 7 * 60 * S + 3 * S, DAY_END - 11 * 60 * S
    raw = {case: await report(reports, start, end, case[0], ZoneInfo(case[1])) for case in CASES}
    queues, agents = raw[(Interval.DAY, "Europe/Paris")]
    within = [e for e in day_of_events(22) if start <= e["ts"] < end]
    assert sum(f["offered"] for f in queues.values()) == sum(e["type"] == "session.queued" for e in within) > 250
    assert sum(f["abandoned"] for f in queues.values()) == sum(e.get("reason") == "customer_abandoned" for e in within)
    assert sum(f["handled"] for f in agents.values()) == sum(f["handled"] for f in queues.values()) > 200
    assert len({number for number, _ in queues}) == 2  # two days, one of 25 hours
    assert await reports.rebuild(DAY_START - 3600 * S, DAY_END + 3600 * S, RULES, DAY_END + 86_400_000) > 0
    for case in CASES:
        got = await report(reports, start, end, case[0], ZoneInfo(case[1]))
        assert got == raw[case], case


async def test_a_late_event_makes_its_hour_stale_and_the_report_stays_right(reports):
    now = DAY_END + 86_400_000
    await reports.rebuild(DAY_START - 3600 * S, DAY_END + 3600 * S, RULES, now)
    late = {
        "type": "session.queued",
        "ts": DAY_START + 3600 * S + 5,
        "queue": "care",
        "session_id": "late",
        "channel": "webchat",
    }
    await Archive(reports.database).write_events([(f"{late['ts']}-999", late)])
    pool = reports.database.pool
    assert await pool.fetchval("SELECT count(*) FROM report_stale_hours") == 1
    queues, _ = await report(reports, DAY_START, DAY_END, Interval.DAY, PARIS)
    assert sum(f["offered"] for f in queues.values()) == 301
    assert await reports.roll(now, RULES, now) >= 4  # the stale hour: four buckets
    assert await pool.fetchval("SELECT count(*) FROM report_stale_hours") == 0
    assert await report(reports, DAY_START, DAY_END, Interval.DAY, PARIS) == (queues, _)
