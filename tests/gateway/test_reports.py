"""The queue and agent reports over HTTP, from the events in real PostgreSQL through a real node."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

REPORTS = ("/api/v1/reports/queues", "/api/v1/reports/agents")


def today() -> dict[str, str]:
    """Today in a fixed-offset zone where it is about noon now: a test's events never straddle its midnight."""
    offset = 12 - datetime.now(UTC).hour  # Etc/GMT-X is UTC+X
    zone = ZoneInfo(f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}" if offset else "UTC")
    start = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "from": start.isoformat(),
        "to": (start + timedelta(days=1)).isoformat(),
        "interval": "day",
        "tz": str(zone),
    }


async def report_until(sb: Any, path: str, done: Any, **params: Any) -> list[dict[str, Any]]:
    """The report's rows once `done(rows)` holds (the archiver copies the events to PostgreSQL meanwhile)."""
    deadline = asyncio.get_running_loop().time() + 30  # the machine may be loaded: a wait, not a bound
    while True:
        response = await sb.http.get(path, params={**today(), **params})
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        if done(rows):
            return rows
        assert asyncio.get_running_loop().time() < deadline, rows
        await asyncio.sleep(0.1)


async def a_served_and_an_abandoned_chat(sb: Any) -> tuple[Any, str]:
    """In `sales` (service level 1 ms): a chat answered at once by ann, ended by the customer, rated 4 and
    wrapped up `resolved`; a chat that the customer abandons before any agent is free."""
    await sb.queue("sales", accept_mode="auto", service_level_s=0.001, short_abandon_s=5)
    ann = await sb.available_agent("ann", queues=["sales"], capacity=1)
    customer, first = await sb.chat("sales")
    cid = first["conversation_id"]
    await ann.expect("conversation.assigned", conversation_id=cid)
    abandoning, _ = await sb.chat("sales")
    await abandoning.expect("chat.queued")
    await abandoning.ok({"type": "end_chat"})
    await customer.ok({"type": "end_chat"})
    await customer.expect("csat.requested")
    await customer.ok({"type": "csat", "rating": 4})
    await ann.expect("chat.ended", conversation_id=cid)
    await ann.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await ann.expect("conversation.closed", conversation_id=cid)
    return ann, cid


async def test_queue_and_agent_reports_count_a_known_day(sb):
    await a_served_and_an_abandoned_chat(sb)
    (row,) = await report_until(
        sb, REPORTS[0], lambda rows: rows and rows[0]["csat_responses"] == 1 and rows[0]["handled"] == 1, queue="sales"
    )
    assert row["queue"] == "sales" and row["interval_start"] == today()["from"]
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandoned"]) == (2, 1, 1, 1)
    assert row["answered_in_sl"] == 1 and row["service_level"] == 1.0  # the short abandon is left out
    assert row["asa_s"] == 0.0 and row["max_wait_s"] is not None and row["aht_s"] is not None
    assert abs(row["aht_s"] - row["talk_s"] - row["wrap_s"]) <= 0.1
    assert (row["csat_avg"], row["csat_4"], row["channels"]) == (4.0, 1, {"webchat": 2})

    (agent,) = await report_until(sb, REPORTS[1], lambda rows: rows and rows[0]["handled"] == 1, agent="ann")
    assert agent["agent"] == "ann"
    # auto-accept: connected without an offer
    assert (agent["offered"], agent["accepted"], agent["handled"], agent["wrap_codes"]) == (0, 1, 1, {"resolved": 1})
    assert (agent["csat_responses"], agent["csat_avg"]) == (1, 4.0)
    # signed in not ready for a moment, then available or busy: seconds round to 0 in so short a test
    assert 0.5 < agent["utilisation"] <= 1 and agent["offline_s"] >= 0

    # The same rows as CSV, with the nested figures flattened.
    answer = await sb.http.get(REPORTS[0], params={**today(), "queue": "sales"}, headers={"Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    (line,) = list(csv.DictReader(io.StringIO(answer.text)))
    assert (line["offered"], line["short_abandoned"], line["channel_webchat"], line["csat_avg"]) == (
        "2",
        "1",
        "2",
        "4.0",
    )
    agents_csv = await sb.http.get(REPORTS[1], params=today(), headers={"Accept": "text/csv"})
    (ann_line,) = [r for r in csv.DictReader(io.StringIO(agents_csv.text)) if r["agent"] == "ann"]
    assert ann_line["wrap_code_resolved"] == "1" and ann_line["handled"] == "1"


async def test_intervals_in_a_time_zone_and_only_those_with_activity(sb):
    await a_served_and_an_abandoned_chat(sb)
    rows = await report_until(sb, REPORTS[0], lambda rows: rows, queue="sales")
    quarters = (await sb.http.get(REPORTS[0], params={**today(), "interval": "15m", "tz": "Asia/Kolkata"})).json()
    # a few seconds of chats: one quarter hour, or two when they straddle its end
    assert 1 <= len(quarters["rows"]) <= 2 and all(r["interval_start"].endswith("+05:30") for r in quarters["rows"])
    assert sum(r["offered"] for r in quarters["rows"]) == rows[0]["offered"]
    later = datetime.now(UTC) + timedelta(days=2)
    empty = await sb.http.get(
        REPORTS[0], params={"from": later.isoformat(), "to": (later + timedelta(hours=1)).isoformat()}
    )
    assert empty.status_code == 200 and empty.json() == {"rows": []}
    first_day = {"from": "1970-01-01T00:00:00Z", "to": "1970-01-02T00:00:00Z", "tz": "Etc/GMT+12", "interval": "month"}
    for path in REPORTS:  # an interval that starts before the epoch
        assert (await sb.http.get(path, params=first_day)).json() == {"rows": []}


async def test_bad_parameters_are_refused_with_a_clear_message(sb):
    start = today()
    for params, words in [
        ({}, "from is required"),
        ({**start, "to": start["from"]}, "later than from"),
        ({**start, "interval": "year"}, "interval must be one of"),
        ({**start, "tz": "Mars/Olympus"}, "IANA"),
        ({**start, "from": "2020-01-01T00:00:00Z"}, "400 days"),
        ({**start, "queue": "no spaces"}, "queue"),
        ({"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"}, "between 1970 and 9000"),
    ]:
        for path in REPORTS:
            answer = await sb.http.get(path, params=params)
            assert answer.status_code == 400 and words in answer.json()["error"]["message"], (path, params, answer.text)


async def test_a_supervisor_reads_its_queues_only_and_an_agent_none(sb):
    await a_served_and_an_abandoned_chat(sb)
    await report_until(sb, REPORTS[0], lambda rows: rows, queue="sales")
    await sb.queue("billing")
    sue = await sb.agent("sue", queues=["billing"], role="supervisor")
    sam = await sb.agent("sam", queues=["sales"], role="supervisor")
    ann = await sb.agent("ann", queues=["sales"])
    for token, queues, status in ((sue, set(), 200), (sam, {"sales"}, 200), (ann, None, 403)):
        async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {token}"}) as http:
            answer = await http.get(REPORTS[0], params=today())
            assert answer.status_code == status, answer.text
            if queues is not None:
                assert {r["queue"] for r in answer.json()["rows"]} == queues
            foreign = await http.get(REPORTS[0], params={**today(), "queue": "support"})
            assert foreign.status_code == 403
            agents = await http.get(REPORTS[1], params={**today(), "agent": "ann"})
            assert agents.status_code == (200 if token == sam else 403)
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        assert (await anonymous.get(REPORTS[0], params=today())).status_code == 401


#: what depends on when a report is read (an agent's time runs on until now)
TIMED = ("available_s", "busy_s", "not_ready_s", "rona_s", "offline_s", "occupancy", "utilisation", "not_ready_reasons")


async def both_reports(sb: Any, **params: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    queues = await sb.http.get(REPORTS[0], params={**today(), **params})
    agents = await sb.http.get(REPORTS[1], params={**today(), **params})
    untimed = [{k: v for k, v in row.items() if k not in TIMED} for row in agents.json()["rows"]]
    return queues.json()["rows"], untimed


async def test_rollups_give_the_same_report_and_late_events_roll_their_bucket_again(sb):
    await a_served_and_an_abandoned_chat(sb)
    await report_until(sb, REPORTS[0], lambda rows: rows and rows[0]["handled"] == 1, queue="sales")
    await report_until(sb, REPORTS[1], lambda rows: any(r["handled"] for r in rows))
    for interval in ("15m", "day"):
        raw = await both_reports(sb, interval=interval)
        start = datetime.fromisoformat(today()["from"])
        rollups = sb.node.services.rollups
        rolled = await rollups.rebuild(int(start.timestamp() * 1000), int(datetime.now(UTC).timestamp() * 1000) + 1)
        assert rolled >= 1
        database = sb.node.services.database.pool
        for table in ("report_queue_buckets", "report_queue_hours"):
            assert await database.fetchval(f"SELECT sum(offered) FROM {table} WHERE queue = 'sales'") == 2
        assert await database.fetchval("SELECT count(*) FROM report_stale_hours") == 0
        assert await both_reports(sb, interval=interval) == raw

    # A chat after the rollup of its bucket: the bucket goes stale, the report folds it raw meanwhile.
    late, _ = await sb.chat("sales")
    await late.expect("chat.connected")  # ann is free again
    rows = await report_until(
        sb, REPORTS[0], lambda rows: rows and (rows[0]["offered"], rows[0]["answered"]) == (3, 2), queue="sales"
    )
    pool = sb.node.services.database.pool
    assert await pool.fetchval("SELECT count(*) FROM report_stale_hours") >= 1
    deadline = asyncio.get_running_loop().time() + 10
    while await pool.fetchval("SELECT count(*) FROM report_stale_hours"):
        await sb.node.services.rollups.step()  # rolls the stale bucket again (unless the worker is at it)
        assert asyncio.get_running_loop().time() < deadline
    again = (await sb.http.get(REPORTS[0], params={**today(), "queue": "sales"})).json()["rows"]
    assert again == rows


#: the figures that /api/v1/stats and the queue report both give, by the one definition
SHARED = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "answered_in_sl",
    "service_level",
    "asa_s",
    "avg_wait_s",
    "max_wait_s",
    "handled",
    "aht_s",
    "talk_s",
    "wrap_s",
    "transfers_in",
    "transfers_out",
    "conferences",
    "ronas",
    "declines",
    "bot_contained",
    "handed_off",
    "csat_responses",
    "csat_avg",
    "csat_4",
    "channels",
)


async def test_the_live_stats_and_the_report_agree_on_the_same_span(sb):
    await a_served_and_an_abandoned_chat(sb)
    (row,) = await report_until(
        sb, REPORTS[0], lambda rows: rows and rows[0]["csat_responses"] == 1 and rows[0]["handled"] == 1, queue="sales"
    )
    # every event of the test is in the last hour, and in today's report
    live = (await sb.admin("GET", "/api/v1/stats?queue=sales&window_s=3600"))["queues"][0]
    assert {name: live[name] for name in SHARED} == {name: row[name] for name in SHARED}
    assert live["offered"] == 2 and live["short_abandoned"] == 1 and live["short_abandon_s"] == 5
    # one service level: the short abandon is left out of both
    assert live["service_level"] == row["service_level"] == 1.0
