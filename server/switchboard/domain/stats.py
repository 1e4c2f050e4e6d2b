"""Queue statistics over a rolling window, computed from lifecycle events.

Pure: events in, figures out. The store reads the events (the `events` stream)
and the live state (waiting sessions, agents); `GET /api/v1/stats` and the
supervisors' `stats` frames both use `queue_figures`, which counts with the
reports' one definition of every figure (domain/reporting.py: `offered`,
`answered`, `answered_in_sl`, `short_abandoned`, `asa_s`, `avg_wait_s`, `aht_s`,
... mean the same here as in a report over the same span; docs/reports.md).

The names /stats had before the reports stay, with their meaning
(docs/protocol.md, "Statistics and the supervisor feed"):

- `average_speed_of_answer_ms`: mean `wait_ms` of the answered sessions.
- `abandonment_rate`: abandoned / (answered + abandoned).
- `service_level`: the reports' (answered_in_sl / (answered + abandoned -
  short_abandoned)); with the default `short_abandon_s` of 0 that is
  answered_in_sl / (answered + abandoned), what /stats always said.
- `occupancy`: of the queue's member agents, over the window: time they held
  at least one session (connected or in wrap-up) / time they were `available`
  or held a session.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import reporting
from .parameters import bounded_int
from .reporting import DEFAULT_SHORT_ABANDON_S, Folder, QueueCounters, QueueRules, slot_changes
from .states import AgentState

#: The upper bounds (ms) of the answer and handle histograms that every routing step
#: counts into (the Lua library gets this list from here: store/scripts.py).
HISTOGRAM_BUCKETS_MS = (5000, 10000, 20000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000)
DEFAULT_WINDOW_S = 900
MAX_WINDOW_S = 86400
#: At most this many events are read for one computation; beyond it the
#: figures cover only the newest events and say `truncated`.
MAX_EVENTS = 200_000
AGENT_STATES = tuple(s.value for s in AgentState)


@dataclass(frozen=True)
class QueueNow:
    """A queue as it is now: configuration and live figures."""

    id: str
    name: str
    service_level_s: float = 20
    waiting: int = 0
    longest_wait_ms: int = 0
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S

    @property
    def rules(self) -> QueueRules:
        return QueueRules(self.service_level_s, self.short_abandon_s)


@dataclass(frozen=True)
class AgentNow:
    """An agent as it is now."""

    id: str
    state: str
    held: int  # sessions in its slots: connected, or waiting for its wrap-up
    queues: tuple[str, ...] = ()
    role: str = "agent"
    display_name: str = ""
    since: int = 0  # when it entered its state
    capacity: int = 0
    reason: str = ""  # of its state ("" none): a not-ready reason, `Disconnected`, ...


def parse_window(raw: str | None) -> int:
    """`window_s` of a request: whole seconds from 1 to 86400, default 900."""
    return bounded_int(raw, "window_s", DEFAULT_WINDOW_S, 1, MAX_WINDOW_S, kind="a whole number of seconds")


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def queue_figures(
    events: Iterable[Mapping[str, Any]],
    start_ms: int,
    end_ms: int,
    queues: Iterable[QueueNow],
    agents: Iterable[AgentNow],
) -> list[dict[str, Any]]:
    """Figures of each of `queues` (in the given order) over [start_ms, end_ms].
    `events` are the lifecycle events of that span, oldest first (events
    outside it are ignored); `agents` are every agent as it is now."""
    queues = list(queues)
    agents = list(agents)
    # the window's end is included (events of the very millisecond the figures are read)
    folded = Folder(start_ms, end_ms + 1, {q.id: q.rules for q in queues}, {}).fold(events)
    counts = {q.id: QueueCounters() for q in queues}
    for (_bucket, qid), c in folded.queues.items():
        if qid in counts:
            counts[qid].add(c)
    timelines: dict[str, list[tuple[int, str | None, str | None, int]]] = {a.id: [] for a in agents}
    for event in events:
        ts = event.get("ts")
        if not isinstance(ts, int) or ts < start_ms or ts > end_ms:
            continue
        if event.get("type") == "agent.state_changed":
            timeline = timelines.get(event.get("agent"))  # type: ignore[arg-type]
            if timeline is not None:
                timeline.append((ts, event.get("state"), event.get("previous"), 0))
        for aid, change in slot_changes(event):
            timeline = timelines.get(aid)
            if timeline is not None:
                timeline.append((ts, None, None, change))

    busy = {q.id: 0 for q in queues}
    staffed = {q.id: 0 for q in queues}
    by_state = {q.id: dict.fromkeys(AGENT_STATES, 0) for q in queues}
    by_reason: dict[str, Counter[str]] = {q.id: Counter() for q in queues}
    for agent in agents:
        member_of = [q for q in agent.queues if q in busy]
        for qid in member_of:
            if agent.state in by_state[qid]:
                by_state[qid][agent.state] += 1
            if agent.state == AgentState.NOT_READY:
                by_reason[qid][agent.reason] += 1
        if not member_of:
            continue
        b, s = occupancy_of(agent, timelines[agent.id], start_ms, end_ms)
        for qid in member_of:
            busy[qid] += b
            staffed[qid] += s

    figures = []
    for q in queues:
        c = counts[q.id]
        ended_waits = c.answered + c.abandoned
        figures.append(
            {
                "id": q.id,
                "name": q.name,
                **reporting.queue_figures(c),
                # the names /stats had before the reports, kept as they were
                "average_speed_of_answer_ms": round(c.answer_wait_ms / c.answered) if c.answered else None,
                "abandonment_rate": _ratio(c.abandoned, ended_waits),
                "service_level_s": q.service_level_s,
                "short_abandon_s": q.short_abandon_s,
                "occupancy": _ratio(busy[q.id], staffed[q.id]),
                "waiting": q.waiting,
                "longest_wait_ms": q.longest_wait_ms,
                "agents": by_state[q.id],
                "not_ready_reasons": dict(sorted(by_reason[q.id].items())),
            }
        )
    return figures


def occupancy_of(
    agent: AgentNow, timeline: list[tuple[int, str | None, str | None, int]], start_ms: int, end_ms: int
) -> tuple[int, int]:
    """(busy ms, staffed ms) of one agent over [start, end]: busy while it holds
    at least one session, staffed while it is `available` or busy. `timeline`
    holds (ts, new state, previous state, slot change) in order; a state entry
    has change 0, a slot entry no state. The state and load at the start are
    worked back from now: the `previous` of its first state change in the
    window (else the current state), and the current load minus the window's
    changes."""
    state = agent.state
    for _ts, new_state, previous, _change in timeline:
        if new_state is not None:
            state = previous or state
            break
    held = max(0, agent.held - sum(change for *_, change in timeline))
    busy = staffed = 0
    at = start_ms
    for ts, new_state, _previous, change in timeline:
        span = ts - at
        if held > 0:
            busy += span
        if held > 0 or state == AgentState.AVAILABLE:
            staffed += span
        at = ts
        if new_state is not None:
            state = new_state
        held = max(0, held + change)
    span = end_ms - at
    if held > 0:
        busy += span
    if held > 0 or state == AgentState.AVAILABLE:
        staffed += span
    return busy, staffed


class EventWindow:
    """The lifecycle events of the last `window_ms`, oldest first, at most
    `max_events` of them: what a node keeps to compute figures again and again
    without reading the stream each time."""

    def __init__(self, window_ms: int, max_events: int = MAX_EVENTS) -> None:
        self.window_ms = window_ms
        self.max_events = max_events
        self._events: deque[Mapping[str, Any]] = deque()
        self._complete_from = 0  # events older than this may be missing

    def load(self, events: Iterable[Mapping[str, Any]], complete_from_ms: int) -> None:
        """Starts over with `events` (oldest first), complete from `complete_from_ms`."""
        self._events = deque(events)
        self._complete_from = complete_from_ms

    def add(self, event: Mapping[str, Any]) -> None:
        self._events.append(event)
        if len(self._events) > self.max_events:
            dropped = self._events.popleft()
            self._complete_from = max(self._complete_from, int(dropped.get("ts") or 0) + 1)

    def trim(self, now_ms: int) -> None:
        start = now_ms - self.window_ms
        while self._events and int(self._events[0].get("ts") or 0) < start:
            self._events.popleft()

    def span(self, now_ms: int) -> tuple[int, bool]:
        """Where the figures start, and whether that is later than the window's start."""
        start = now_ms - self.window_ms
        return max(start, self._complete_from), self._complete_from > start

    @property
    def events(self) -> deque[Mapping[str, Any]]:
        return self._events

    def __len__(self) -> int:
        return len(self._events)
