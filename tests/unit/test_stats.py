"""domain/stats.py without any server: events in, figures out."""

from __future__ import annotations

import pytest

from switchboard.domain.errors import ErrorCode, SwitchboardError
from switchboard.domain.stats import (
    DEFAULT_WINDOW_S,
    AgentNow,
    EventWindow,
    QueueNow,
    occupancy_of,
    parse_window,
    queue_figures,
)


def ev(type_, ts, **fields):
    return {"type": type_, "ts": ts, **fields}


def figures_by_id(*args, **kwargs):
    return {f["id"]: f for f in queue_figures(*args, **kwargs)}


@pytest.mark.parametrize(
    ("raw", "value"), [(None, DEFAULT_WINDOW_S), ("", 900), ("1", 1), ("60", 60), ("86400", 86400)]
)
def test_window_defaults_to_fifteen_minutes_and_takes_whole_seconds(raw, value):
    assert parse_window(raw) == value


@pytest.mark.parametrize("raw", ["0", "-5", "86401", "1.5", "abc", "1e3"])
def test_window_out_of_range_or_not_a_whole_number_is_bad_request(raw):
    with pytest.raises(SwitchboardError) as caught:
        parse_window(raw)
    assert caught.value.code is ErrorCode.BAD_REQUEST and "window_s" in caught.value.message


def test_counts_speed_of_answer_abandonment_and_service_level():
    q1 = QueueNow("q1", "One", service_level_s=10, waiting=2, longest_wait_ms=4000)
    q2 = QueueNow("q2", "Two")
    events = [
        ev("session.queued", 500, session_id="s0", queue="q1"),  # before the window
        ev("session.queued", 1000, session_id="s1", queue="q1"),
        ev("session.queued", 2000, session_id="s2", queue="q1"),
        ev("session.queued", 3000, session_id="s3", queue="q1"),
        ev("session.queued", 3500, session_id="s4", queue="q1"),
        ev("session.offered", 3600, session_id="s1", queue="q1", agent="a"),
        ev("session.connected", 6000, session_id="s1", queue="q1", agent="a", wait_ms=5000),  # within 10 s
        ev("session.abandoned_typo", 7000, session_id="s3", queue="q1"),  # unknown types are ignored
        ev("session.ended", 8000, session_id="s3", queue="q1", reason="customer_abandoned", waited_ms=5000),
        ev("session.ended", 9000, session_id="s4", queue="q1", reason="queue_timeout", waited_ms=5500),
        ev("session.connected", 17000, session_id="s2", queue="q1", agent="b", wait_ms=15000),  # not within
        # s1 is sent on to q2 and answered there again: not a second answer
        ev("session.transferred", 20000, session_id="s1", queue="q2", from_queue="q1", agent="a", kind="queue"),
        ev("session.connected", 21000, session_id="s1", queue="q2", agent="c", wait_ms=20000),
        ev("session.connected", 22000, session_id="s9", queue="q2", agent="c", wait_ms=1000, requeued=True),
        ev("session.queued", 99_000, session_id="s5", queue="q1"),  # after the end
    ]
    figures = figures_by_id(events, 1000, 30_000, [q1, q2], [])
    one = figures["q1"]
    assert (one["offered"], one["answered"], one["abandoned"]) == (4, 2, 1)
    assert one["average_speed_of_answer_ms"] == 10_000
    assert one["abandonment_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert one["service_level"] == pytest.approx(1 / 3, abs=1e-4)
    assert one["service_level_s"] == 10
    assert (one["waiting"], one["longest_wait_ms"], one["name"]) == (2, 4000, "One")
    two = figures["q2"]
    assert (two["offered"], two["answered"], two["abandoned"]) == (1, 0, 0)
    assert (
        two["average_speed_of_answer_ms"] is None and two["abandonment_rate"] is None and two["service_level"] is None
    )


def test_an_answer_exactly_at_the_threshold_is_within_the_service_level():
    q = QueueNow("q", "Q", service_level_s=2)
    events = [
        ev("session.connected", 5000, session_id="s1", queue="q", agent="a", wait_ms=2000),
        ev("session.connected", 5001, session_id="s2", queue="q", agent="a", wait_ms=2001),
    ]
    assert figures_by_id(events, 0, 10_000, [q], [])["q"]["service_level"] == 0.5


def test_queues_keep_the_given_order_and_unknown_queues_are_left_out():
    events = [ev("session.queued", 10, session_id="s", queue="gone")]
    figures = queue_figures(events, 0, 100, [QueueNow("b", "B"), QueueNow("a", "A")], [])
    assert [f["id"] for f in figures] == ["b", "a"]
    assert all(f["offered"] == 0 for f in figures)


def test_agents_by_state_count_each_member_in_each_of_its_queues():
    agents = [
        AgentNow("a1", "available", 0, ("q1", "q2")),
        AgentNow("a2", "not_ready", 0, ("q1",)),
        AgentNow("a3", "rona", 0, ("q2",)),
        AgentNow("a4", "offline", 0, ()),
    ]
    figures = figures_by_id([], 0, 1000, [QueueNow("q1", "Q1"), QueueNow("q2", "Q2")], agents)
    assert figures["q1"]["agents"] == {"available": 1, "not_ready": 1, "offline": 0, "rona": 0}
    assert figures["q2"]["agents"] == {"available": 1, "not_ready": 0, "offline": 0, "rona": 1}


def test_occupancy_is_time_holding_sessions_over_time_available_or_holding():
    agent = AgentNow("a", "available", 0, ("q",))
    events = [
        ev("agent.state_changed", 10_000, agent="a", state="available", previous="not_ready"),
        ev("session.connected", 20_000, session_id="s1", queue="q", agent="a", wait_ms=1),
        ev("session.ended", 50_000, session_id="s1", queue="q", agent="a", reason="agent_ended"),
        ev("session.wrapped_up", 60_000, session_id="s1", queue="q", agent="a"),  # wrap-up counts as holding
    ]
    # staffed from 10 s to 100 s, holding from 20 s to 60 s
    assert figures_by_id(events, 0, 100_000, [QueueNow("q", "Q")], [agent])["q"]["occupancy"] == pytest.approx(
        40 / 90, abs=1e-4
    )


def test_occupancy_works_back_the_load_at_the_window_start_from_now():
    # Holds one session now, and held two until one was wrapped up at 50 s: busy all along.
    busy = AgentNow("busy", "not_ready", 1, ("q",))
    events = [ev("session.wrapped_up", 50_000, session_id="s0", queue="q", agent="busy")]
    assert occupancy_of(busy, [(50_000, None, None, -1)], 0, 100_000) == (100_000, 100_000)
    # Available all window long and never holding: occupancy 0.
    idle = AgentNow("idle", "available", 0, ("q",))
    figures = figures_by_id(events, 0, 100_000, [QueueNow("q", "Q")], [busy, idle])
    assert figures["q"]["occupancy"] == 0.5
    # Nobody staffed: no figure.
    away = AgentNow("away", "offline", 0, ("r",))
    assert figures_by_id([], 0, 100_000, [QueueNow("r", "R")], [away])["r"]["occupancy"] is None


def test_occupancy_follows_transfers_and_conferences():
    a = AgentNow("a", "available", 0, ("q",))
    b = AgentNow("b", "available", 1, ("q",))
    events = [
        ev("session.connected", 0, session_id="s", queue="q", agent="a", wait_ms=1),
        # a hands it to b at 40 s (warm transfer), b invites a as a guest from 60 s to 80 s
        ev("session.transferred", 40_000, session_id="s", queue="q", agent="a", to_agent="b", kind="agent"),
        ev("session.conference_started", 60_000, session_id="s", queue="q", agent="a", from_agent="b"),
        ev("session.conference_ended", 80_000, session_id="s", queue="q", agent="a", reason="left"),
    ]
    figures = figures_by_id(events, 0, 100_000, [QueueNow("q", "Q")], [a, b])
    # a holds 0-40 and 60-80 (60 s), b holds 40-100 (60 s); both staffed 100 s
    assert figures["q"]["occupancy"] == pytest.approx(120 / 200)


def test_the_event_window_keeps_the_last_span_and_says_when_its_cap_cut_it():
    t = 1_700_000_000_000
    window = EventWindow(window_ms=10_000, max_events=3)
    window.load([ev("session.queued", t + 1000), ev("session.queued", t + 2000)], complete_from_ms=t - 5000)
    assert window.span(t + 5000) == (t - 5000, False)
    window.add(ev("session.queued", t + 3000))
    window.add(ev("session.queued", t + 4000))  # over the cap: the oldest goes
    assert [e["ts"] - t for e in window.events] == [2000, 3000, 4000]
    assert window.span(t + 5000) == (t + 1001, True)
    window.trim(t + 12_500)  # the window now starts at t + 2500
    assert [e["ts"] - t for e in window.events] == [3000, 4000]
    assert window.span(t + 12_500) == (t + 2500, False)
