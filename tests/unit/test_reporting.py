"""domain/reporting.py and domain/intervals.py without any server: events in, counters and figures out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from switchboard.domain.errors import SwitchboardError
from switchboard.domain.intervals import (
    BUCKET_MS,
    Interval,
    interval_start,
    interval_starts,
    parse_interval,
    parse_range,
    parse_zone,
    to_ms,
)
from switchboard.domain.reporting import (
    AgentCounters,
    AgentStart,
    Folder,
    QueueCounters,
    QueueRules,
    agent_figures,
    queue_figures,
    total,
)

PARIS = ZoneInfo("Europe/Paris")
HOUR = 3_600_000


def ev(type_, ts, **fields):
    return {"type": type_, "ts": ts, **fields}


def at(text: str, zone: ZoneInfo = PARIS) -> int:
    return to_ms(datetime.fromisoformat(text).replace(tzinfo=zone))


def fold(events, start=0, end=10 * HOUR, rules=None, starts=None):
    return Folder(start, end, rules or {}, starts or {}).fold(events).finish()


def test_queue_figures_of_a_known_quarter_hour():
    rules = {"q": QueueRules(service_level_s=10, short_abandon_s=5)}
    events = [
        ev("session.queued", 1000, session_id="s1", queue="q", channel="webchat"),
        ev("session.queued", 2000, session_id="s2", queue="q", channel="webchat"),
        ev("session.queued", 3000, session_id="s3", queue="q", channel="messaging"),
        ev("session.queued", 3500, session_id="s4", queue="q", channel="webchat"),
        ev("session.connected", 6000, session_id="s1", queue="q", agent="a", wait_ms=5000),
        ev("session.connected", 17000, session_id="s2", queue="q", agent="b", wait_ms=15000),
        ev("session.ended", 6000, session_id="s3", queue="q", reason="customer_abandoned", waited_ms=3000),
        ev("session.ended", 33500, session_id="s4", queue="q", reason="customer_abandoned", waited_ms=30000),
        ev("session.ended", 60000, session_id="s1", queue="q", agent="a", reason="customer_ended"),
        ev(
            "session.wrapped_up",
            70000,
            session_id="s1",
            queue="q",
            agent="a",
            code="sale",
            talk_ms=54000,
            wrap_ms=10000,
        ),
        ev("session.rona", 1500, session_id="s2", queue="q", agent="c"),
        ev("session.declined", 1600, session_id="s2", queue="q", agent="d"),
        ev("csat.submitted", 80000, session_id="s1", queue="q", agent="a", rating=4),
        ev("csat.submitted", 81000, session_id="s2", queue="q", agent="b", rating=5),
        ev("session.transferred", 90000, session_id="s2", queue="r", from_queue="q", agent="b", kind="queue"),
        ev("session.connected", 95000, session_id="s2", queue="r", agent="e", wait_ms=5000),
    ]
    folded = fold(events, rules=rules)
    assert set(folded.queues) == {(0, "q"), (0, "r")}
    q = queue_figures(folded.queues[(0, "q")])
    assert (q["offered"], q["answered"], q["abandoned"], q["short_abandoned"], q["answered_in_sl"]) == (4, 2, 2, 1, 1)
    assert q["service_level"] == round(1 / (2 + 2 - 1), 4)
    assert q["asa_s"] == 10.0 and q["avg_wait_s"] == round((5 + 15 + 3 + 30) / 4, 1) and q["max_wait_s"] == 30.0
    assert (q["handled"], q["talk_s"], q["wrap_s"], q["aht_s"]) == (1, 54.0, 10.0, 64.0)
    assert (q["ronas"], q["declines"], q["transfers_out"], q["transfers_in"]) == (1, 1, 1, 0)
    assert (q["csat_responses"], q["csat_avg"], q["csat_4"], q["csat_5"], q["csat_1"]) == (2, 4.5, 1, 1, 0)
    assert q["channels"] == {"messaging": 1, "webchat": 3}
    r = queue_figures(folded.queues[(0, "r")])
    # offered by the transfer; its connection after the transfer is not a second answer
    assert (r["offered"], r["transfers_in"], r["answered"]) == (1, 1, 0)


def test_empty_counters_give_null_ratios_and_averages():
    q = queue_figures(QueueCounters())
    assert q["service_level"] is None and q["asa_s"] is None and q["max_wait_s"] is None and q["csat_avg"] is None
    a = agent_figures(AgentCounters())
    assert a["occupancy"] is None and a["utilisation"] is None and a["aht_s"] is None


def test_a_requeued_connection_and_a_lost_agent_are_not_answers_nor_transfers():
    events = [
        ev("session.transferred", 100, session_id="s", queue="q", agent="a", reason="agent_disconnected"),
        ev("session.connected", 200, session_id="s", queue="q", agent="b", wait_ms=100, requeued=True),
    ]
    q = queue_figures(fold(events).queues[(0, "q")])
    assert (q["answered"], q["transfers_out"], q["offered"]) == (0, 0, 0)


def test_bot_contained_and_handed_off():
    events = [
        ev("session.handed_off", 100, session_id="s1", queue="q", bot_ms=50),
        ev("session.ended", 200, session_id="s2", queue="q", reason="customer_ended", bot=True),
    ]
    q = queue_figures(fold(events).queues[(0, "q")])
    assert (q["handed_off"], q["bot_contained"]) == (1, 1)


def test_agent_counts_and_state_time_split_at_bucket_borders():
    b = BUCKET_MS
    events = [
        ev("agent.state_changed", b - 60_000, agent="a", state="available", previous="offline"),
        ev("session.offered", b - 30_000, session_id="s1", queue="q", agent="a"),
        ev("session.connected", b, session_id="s1", queue="q", agent="a", wait_ms=1),
        ev("session.ended", b + 120_000, session_id="s1", queue="q", agent="a", reason="agent_ended"),
        ev(
            "session.wrapped_up",
            b + 180_000,
            session_id="s1",
            queue="q",
            agent="a",
            codes=["sale", "upsell"],
            talk_ms=120_000,
            wrap_ms=60_000,
        ),
        ev("session.offered", b + 200_000, session_id="s2", queue="q", agent="a"),
        ev("session.declined", b + 210_000, session_id="s2", queue="q", agent="a"),
        ev("agent.state_changed", b + 240_000, agent="a", state="not_ready", previous="available", reason="Lunch"),
        ev("csat.submitted", b + 250_000, session_id="s1", queue="q", agent="a", rating=3),
    ]
    folded = fold(events, start=0, end=2 * b)
    first, second = agent_figures(folded.agents[(0, "a")]), agent_figures(folded.agents[(b, "a")])
    assert (first["offered"], first["available_s"], first["offline_s"], first["busy_s"]) == (
        1,
        60,
        (b - 60_000) // 1000,
        0,
    )
    assert (second["accepted"], second["declined"], second["handled"], second["offered"]) == (1, 1, 1, 1)
    assert second["wrap_codes"] == {"sale": 1, "upsell": 1} and second["aht_s"] == 180.0
    assert (second["busy_s"], second["available_s"]) == (180, 60)
    assert second["not_ready_s"] == (b - 240_000) // 1000 and second["not_ready_reasons"] == {
        "Lunch": second["not_ready_s"]
    }
    assert second["occupancy"] == round(180 / 240, 4)
    assert second["utilisation"] == round(240 / (b / 1000), 4)
    assert (second["csat_responses"], second["csat_avg"]) == (1, 3.0)
    whole = agent_figures(total([folded.agents[(0, "a")], folded.agents[(b, "a")]], AgentCounters()))
    assert whole["available_s"] == 120 and whole["offered"] == 2


def test_an_agent_starts_in_the_state_it_had_at_the_start():
    folded = fold([], start=0, end=BUCKET_MS, starts={"a": AgentStart("not_ready", "Training", 1)})
    a = agent_figures(folded.agents[(0, "a")])
    assert a["busy_s"] == BUCKET_MS // 1000 and a["not_ready_s"] == 0  # holding a session: busy
    folded = fold([], start=0, end=BUCKET_MS, starts={"a": AgentStart("not_ready", "Training", 0)})
    assert agent_figures(folded.agents[(0, "a")])["not_ready_reasons"] == {"Training": BUCKET_MS // 1000}


def test_counters_add_and_survive_json():
    a = QueueCounters(offered=2, max_wait_ms=5, channels={"webchat": 2}, csat={"5": 1})
    b = QueueCounters(offered=1, max_wait_ms=9, channels={"webchat": 1, "messaging": 1})
    a.add(b)
    assert (a.offered, a.max_wait_ms, a.channels, a.csat) == (3, 9, {"webchat": 3, "messaging": 1}, {"5": 1})
    assert QueueCounters.from_json(a.to_json()) == a
    assert QueueCounters().to_json() == {} and QueueCounters().empty()
    assert not AgentCounters(offline_ms=5).active() and AgentCounters(available_ms=1).active()


def test_events_outside_the_fold_are_ignored():
    folded = fold([ev("session.queued", 10 * HOUR, session_id="s", queue="q")], end=10 * HOUR)
    assert folded.queues == {}


@pytest.mark.parametrize(
    ("interval", "moment", "start"),
    [
        (Interval.QUARTER_HOUR, "2026-03-29T03:20:00+02:00", "2026-03-29T03:15:00+02:00"),
        (Interval.HOUR, "2026-10-25T02:30:00+01:00", "2026-10-25T02:00:00+01:00"),  # the second 02:00
        (Interval.HOUR, "2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+02:00"),  # the first
        (Interval.DAY, "2026-10-25T23:59:00+01:00", "2026-10-25T00:00:00+02:00"),
        (Interval.WEEK, "2026-12-06T12:00:00+01:00", "2026-11-30T00:00:00+01:00"),  # a Sunday: its Monday
        (Interval.MONTH, "2026-12-31T23:00:00+01:00", "2026-12-01T00:00:00+01:00"),
    ],
)
def test_interval_starts_in_paris(interval, moment, start):
    found = interval_start(to_ms(datetime.fromisoformat(moment)), interval, PARIS)
    assert found.isoformat() == start


def test_days_across_daylight_saving_are_23_and_25_hours():
    spring = list(interval_starts(at("2026-03-29T00:00:00"), at("2026-03-30T00:00:00"), Interval.DAY, PARIS))
    assert [(s.isoformat(), end - to_ms(s)) for s, end in spring] == [("2026-03-29T00:00:00+01:00", 23 * HOUR)]
    autumn = list(interval_starts(at("2026-10-25T00:00:00"), at("2026-10-26T00:00:00"), Interval.DAY, PARIS))
    assert [end - to_ms(s) for s, end in autumn] == [25 * HOUR]
    hours = list(interval_starts(at("2026-10-25T00:00:00"), at("2026-10-26T00:00:00"), Interval.HOUR, PARIS))
    assert len(hours) == 25 and len({s.isoformat() for s, _ in hours}) == 25


def test_months_and_weeks_follow_the_calendar():
    months = list(interval_starts(at("2026-01-15T00:00:00"), at("2026-04-01T00:00:00"), Interval.MONTH, PARIS))
    assert [s.isoformat()[:10] for s, _ in months] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    kolkata = ZoneInfo("Asia/Kolkata")
    (hour,) = interval_starts(
        at("2026-01-01T10:10:00", kolkata), at("2026-01-01T10:20:00", kolkata), Interval.HOUR, kolkata
    )
    assert hour[0].isoformat() == "2026-01-01T10:00:00+05:30" and to_ms(hour[0]) % BUCKET_MS == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"), "later"),
        (("2025-01-01T00:00:00Z", "2026-12-01T00:00:00Z"), "400 days"),
        ((None, "2026-01-01T00:00:00Z"), "from is required"),
        (("yesterday", "2026-01-01T00:00:00Z"), "ISO 8601"),
    ],
)
def test_bad_ranges_are_refused_with_a_clear_message(args, words):
    with pytest.raises(SwitchboardError) as caught:
        parse_range(*args)
    assert words in caught.value.message


def test_interval_and_zone_parameters():
    assert parse_interval(None) is Interval.HOUR and parse_interval("15m") is Interval.QUARTER_HOUR
    assert str(parse_zone(None)) == "UTC" and str(parse_zone("Europe/Paris")) == "Europe/Paris"
    for bad in (lambda: parse_interval("year"), lambda: parse_zone("Mars/Base"), lambda: parse_zone("../etc")):
        with pytest.raises(SwitchboardError):
            bad()
