"""The one definition of every queue and agent figure: reports, `/api/v1/stats` and the tiles.

Pure: lifecycle events in (dicts as the store emits and the archive keeps them:
`type`, `ts`, `queue`, `agent`, `session_id` and the body's fields), figures out,
in two steps:

1. `Folder` folds events into *counters*, one set per 15-minute bucket and queue
   (`QueueCounters`) or agent (`AgentCounters`). Each counter comes from one event
   type and counts in the bucket where that event occurred, so counters add up:
   the counters of an hour are the sum of its four buckets', whichever way they were
   made (rolled up long ago, or folded from raw events just now).
2. `queue_figures` and `agent_figures` turn counters (of any span) into figures.

docs/reports.md lists every figure with its formula; the docstrings below are that list.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from .intervals import BUCKET_MS, bucket_of
from .states import AgentState, EndReason

#: `short_abandon_s` of a queue that does not set it: none counted apart, so a queue keeps the service
#: level it had before it chose a threshold (centres commonly choose 5 to 10 s).
DEFAULT_SHORT_ABANDON_S = 0
DEFAULT_SERVICE_LEVEL_S = 20
CSAT_SCORES = (1, 2, 3, 4, 5)
#: The time an agent holds a session counts as `busy`, whatever its state; the rest as its state.
BUSY = "busy"
TIME_STATES = (AgentState.AVAILABLE.value, BUSY, AgentState.NOT_READY.value, AgentState.RONA.value, "offline")


def event_ms(event: Mapping[str, Any]) -> int | None:
    ts = event.get("ts")
    return ts if isinstance(ts, int) else None


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(total_ms: float, count: int) -> float | None:
    return round(total_ms / count / 1000, 1) if count else None


def _ms(event: Mapping[str, Any], name: str) -> int | None:
    value = event.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


@dataclass(frozen=True)
class QueueRules:
    """What a queue's figures depend on in its configuration."""

    service_level_s: float = DEFAULT_SERVICE_LEVEL_S
    short_abandon_s: float = DEFAULT_SHORT_ABANDON_S


class _Additive:
    """Counters that add: ints sum, `max_*` take the larger, dicts sum per key."""

    def add(self, other: _Additive) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, dict):
                for key, value in theirs.items():
                    mine[key] = mine.get(key, 0) + value
            elif f.name.startswith("max_"):
                setattr(self, f.name, max(mine, theirs))
            else:
                setattr(self, f.name, mine + theirs)

    def to_json(self) -> dict[str, Any]:
        """Only what is not zero: a rollup row stays small."""
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name))}  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items() if k in known})

    def empty(self) -> bool:
        return not self.to_json()


@dataclass
class QueueCounters(_Additive):
    """A queue's counters over a span (see `queue_figures` for what each becomes)."""

    offered: int = 0
    transfers_in: int = 0
    transfers_out: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    answer_wait_ms: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    abandon_wait_ms: int = 0
    max_wait_ms: int = 0
    handled: int = 0
    talk_ms: int = 0
    wrap_ms: int = 0
    conferences: int = 0
    ronas: int = 0
    declines: int = 0
    bot_contained: int = 0
    handed_off: int = 0
    csat_responses: int = 0
    csat_sum: int = 0
    csat: dict[str, int] = field(default_factory=dict)  # "1".."5": responses with that score
    channels: dict[str, int] = field(default_factory=dict)


@dataclass
class AgentCounters(_Additive):
    """An agent's counters over a span (see `agent_figures`)."""

    offered: int = 0
    accepted: int = 0
    declined: int = 0
    ronas: int = 0
    handled: int = 0
    talk_ms: int = 0
    wrap_ms: int = 0
    csat_responses: int = 0
    csat_sum: int = 0
    wrap_codes: dict[str, int] = field(default_factory=dict)
    # ms in each of TIME_STATES
    available_ms: int = 0
    busy_ms: int = 0
    not_ready_ms: int = 0
    rona_ms: int = 0
    offline_ms: int = 0
    not_ready_reason_ms: dict[str, int] = field(default_factory=dict)  # by reason ("" none)

    def active(self) -> bool:
        """Whether a report shows it: any figure but time spent offline."""
        return any(v for k, v in self.to_json().items() if k != "offline_ms")


def queue_figures(c: QueueCounters) -> dict[str, Any]:
    """A queue's figures from its counters:

    - offered: `session.queued` into the queue + `session.transferred` of kind `queue` into it
    - transfers_in: `session.transferred` of kind `queue` into it
    - transfers_out: `session.transferred` out of one of its sessions (to a queue or an agent;
      not `agent_disconnected`, which puts the session back in the same queue)
    - answered: `session.connected` that is not `requeued` (a session's first connection; nor one
      after a `session.transferred` of the session, which the store marks `requeued` anyway)
    - answered_in_sl: answered with `wait_ms` <= the queue's `service_level_s`
    - abandoned: `session.ended` with reason `customer_abandoned` (before any connection)
    - short_abandoned: abandoned with `waited_ms` < the queue's `short_abandon_s` (part of abandoned)
    - service_level = answered_in_sl / (answered + abandoned - short_abandoned), null when 0/0
    - asa_s = sum of the answered's `wait_ms` / answered
    - avg_wait_s = (answered's `wait_ms` + abandoned's `waited_ms`) / (answered + abandoned)
    - max_wait_s = the longest of those waits
    - handled: `session.wrapped_up` (an agent finished its wrap-up)
    - talk_s, wrap_s: mean `talk_ms` (connected -> ended), `wrap_ms` (ended -> wrapped up) of the handled
    - aht_s = talk_s + wrap_s
    - conferences: `session.conference_started`; ronas: `session.rona`; declines: `session.declined`
    - bot_contained: `session.ended` with `bot` (ended in the bot stage); handed_off: `session.handed_off`
    - csat_responses, csat_avg, csat_1..csat_5: `csat.submitted` (count, mean rating, count per rating)
    - channels: `session.queued` per `channel`
    """
    waits = c.answered + c.abandoned
    talk, wrap = _seconds(c.talk_ms, c.handled), _seconds(c.wrap_ms, c.handled)
    return {
        "offered": c.offered,
        "answered": c.answered,
        "abandoned": c.abandoned,
        "short_abandoned": c.short_abandoned,
        "answered_in_sl": c.answered_in_sl,
        "service_level": _ratio(c.answered_in_sl, c.answered + c.abandoned - c.short_abandoned),
        "asa_s": _seconds(c.answer_wait_ms, c.answered),
        "avg_wait_s": _seconds(c.answer_wait_ms + c.abandon_wait_ms, waits),
        "max_wait_s": round(c.max_wait_ms / 1000, 1) if waits else None,
        "handled": c.handled,
        "aht_s": _seconds(c.talk_ms + c.wrap_ms, c.handled),
        "talk_s": talk,
        "wrap_s": wrap,
        "transfers_in": c.transfers_in,
        "transfers_out": c.transfers_out,
        "conferences": c.conferences,
        "ronas": c.ronas,
        "declines": c.declines,
        "bot_contained": c.bot_contained,
        "handed_off": c.handed_off,
        "csat_responses": c.csat_responses,
        "csat_avg": round(c.csat_sum / c.csat_responses, 2) if c.csat_responses else None,
        **{f"csat_{score}": c.csat.get(str(score), 0) for score in CSAT_SCORES},
        "channels": dict(sorted(c.channels.items())),
    }


def agent_figures(c: AgentCounters) -> dict[str, Any]:
    """An agent's figures from its counters:

    - offered: `session.offered` to it; declined: `session.declined`; ronas: `session.rona`
    - accepted: `session.connected` to it, `session.transferred` of kind `agent` to it,
      `session.conference_started` with it as the guest
    - handled: `session.wrapped_up` by it; talk_s, wrap_s, aht_s: as for queues, over its handled
    - wrap_codes: its `session.wrapped_up` per code (each of `codes` when it gave several)
    - csat_responses, csat_avg: `csat.submitted` of the sessions it had when they ended
    - available_s, busy_s, not_ready_s, rona_s, offline_s: time in each state from
      `agent.state_changed`, split at interval borders; time holding at least one session
      (connected, in a conference or in wrap-up) is busy whatever the state
    - not_ready_reasons: not_ready seconds per reason
    - occupancy = busy / (available + busy)
    - utilisation = (available + busy) / (available + busy + not_ready + rona)
    """
    available, busy = c.available_ms, c.busy_ms
    signed_in = available + busy + c.not_ready_ms + c.rona_ms
    return {
        "offered": c.offered,
        "accepted": c.accepted,
        "declined": c.declined,
        "ronas": c.ronas,
        "handled": c.handled,
        "aht_s": _seconds(c.talk_ms + c.wrap_ms, c.handled),
        "talk_s": _seconds(c.talk_ms, c.handled),
        "wrap_s": _seconds(c.wrap_ms, c.handled),
        "wrap_codes": dict(sorted(c.wrap_codes.items())),
        "csat_responses": c.csat_responses,
        "csat_avg": round(c.csat_sum / c.csat_responses, 2) if c.csat_responses else None,
        **{f"{state}_s": round(getattr(c, f"{state}_ms") / 1000) for state in TIME_STATES},
        "not_ready_reasons": {reason: round(v / 1000) for reason, v in sorted(c.not_ready_reason_ms.items())},
        "occupancy": _ratio(busy, available + busy),
        "utilisation": _ratio(available + busy, signed_in),
    }


@dataclass
class AgentStart:
    """An agent at the start of a fold: its state (and reason) and how many sessions it holds."""

    state: str = "offline"
    reason: str = ""
    held: int = 0


# How each event changes the number of sessions an agent holds: (agent, change).
# A session that ends keeps its slot until the wrap-up.
def slot_changes(event: Mapping[str, Any]) -> list[tuple[str, int]]:
    kind = event.get("type")
    agent = event.get("agent")
    if not isinstance(agent, str):
        return []
    if kind in ("session.connected", "session.conference_started"):
        return [(agent, 1)]
    if kind in ("session.wrapped_up", "session.conference_ended"):
        return [(agent, -1)]
    if kind == "session.transferred":
        changes = [(agent, -1)]  # to a queue, to an agent, or lost (agent_disconnected): it leaves
        if event.get("kind") == "agent" and isinstance(event.get("to_agent"), str):
            changes.append((event["to_agent"], 1))
        return changes
    return []


@dataclass
class _Clock:
    """Where one agent's time stands while a fold walks through its events."""

    at: int
    start: AgentStart


class Folder:
    """Folds lifecycle events of [start_ms, end_ms), oldest first, into counters per
    15-minute bucket and queue / agent. `rules` gives each queue's thresholds (a queue
    not in it gets the defaults); `starts` each agent's state at start_ms (an agent not
    in it starts offline with nothing held, unless its first state change says otherwise)."""

    def __init__(
        self, start_ms: int, end_ms: int, rules: Mapping[str, QueueRules], starts: Mapping[str, AgentStart]
    ) -> None:
        self.start_ms, self.end_ms = start_ms, end_ms
        self.rules = rules
        self.queues: dict[tuple[int, str], QueueCounters] = {}
        self.agents: dict[tuple[int, str], AgentCounters] = {}
        self._transferred: set[str] = set()  # sessions transferred in this fold: connected again, not answered
        self._clocks = {aid: _Clock(start_ms, AgentStart(s.state, s.reason, s.held)) for aid, s in starts.items()}

    def _queue(self, ts: int, queue: Any) -> QueueCounters | None:
        if not isinstance(queue, str) or not queue:
            return None
        key = (bucket_of(ts), queue)
        found = self.queues.get(key)
        if found is None:
            found = self.queues[key] = QueueCounters()
        return found

    def _agent(self, ts: int, agent: Any) -> AgentCounters | None:
        if not isinstance(agent, str) or not agent:
            return None
        key = (bucket_of(ts), agent)
        found = self.agents.get(key)
        if found is None:
            found = self.agents[key] = AgentCounters()
        return found

    def fold(self, events: Iterable[Mapping[str, Any]]) -> Folder:
        for event in events:
            ts = event_ms(event)
            if ts is None or not self.start_ms <= ts < self.end_ms:
                continue
            self._count_queue(ts, event)
            self._count_agent(ts, event)
            self._track_time(ts, event)
        return self

    def finish(self, now_ms: int | None = None) -> Folder:
        """Counts every agent's time up to end_ms, or up to now if that comes first (a fold of the
        open tail of a report); call once, after the last fold."""
        until = self.end_ms if now_ms is None else max(self.start_ms, min(self.end_ms, now_ms))
        for aid, clock in self._clocks.items():
            self._spend(aid, clock, until)
        return self

    def _count_queue(self, ts: int, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        rules = self.rules.get(event.get("queue") or "") or QueueRules()
        if kind == "session.transferred":
            if event.get("reason") == "agent_disconnected":
                return
            self._transferred.add(str(event.get("session_id")))
            into = event.get("kind") == "queue"
            source = self._queue(ts, event.get("from_queue") if into else event.get("queue"))
            if source:
                source.transfers_out += 1
            target = self._queue(ts, event.get("queue")) if into else None
            if target:
                target.offered += 1
                target.transfers_in += 1
            return
        c = self._queue(ts, event.get("queue"))
        if c is None:
            return
        if kind == "session.queued":
            c.offered += 1
            channel = event.get("channel")
            if isinstance(channel, str) and channel:
                c.channels[channel] = c.channels.get(channel, 0) + 1
        elif (
            kind == "session.connected"
            and not event.get("requeued")
            and event.get("session_id") not in self._transferred
        ):
            wait = _ms(event, "wait_ms") or 0
            c.answered += 1
            c.answer_wait_ms += wait
            c.max_wait_ms = max(c.max_wait_ms, wait)
            if wait <= rules.service_level_s * 1000:
                c.answered_in_sl += 1
        elif kind == "session.ended":
            if event.get("bot"):
                c.bot_contained += 1
            if event.get("reason") == EndReason.CUSTOMER_ABANDONED:
                waited = _ms(event, "waited_ms") or 0
                c.abandoned += 1
                c.abandon_wait_ms += waited
                c.max_wait_ms = max(c.max_wait_ms, waited)
                if waited < rules.short_abandon_s * 1000:
                    c.short_abandoned += 1
        elif kind == "session.wrapped_up":
            c.handled += 1
            c.talk_ms += _ms(event, "talk_ms") or 0
            c.wrap_ms += _ms(event, "wrap_ms") or 0
        elif kind == "session.conference_started":
            c.conferences += 1
        elif kind == "session.rona":
            c.ronas += 1
        elif kind == "session.declined":
            c.declines += 1
        elif kind == "session.handed_off":
            c.handed_off += 1
        elif kind == "csat.submitted":
            self._rate(c, event)

    @staticmethod
    def _rate(c: QueueCounters | AgentCounters, event: Mapping[str, Any]) -> None:
        rating = event.get("rating")
        if isinstance(rating, int) and rating in CSAT_SCORES:
            c.csat_responses += 1
            c.csat_sum += rating
            if isinstance(c, QueueCounters):
                c.csat[str(rating)] = c.csat.get(str(rating), 0) + 1

    def _count_agent(self, ts: int, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.transferred" and event.get("kind") == "agent":
            target = self._agent(ts, event.get("to_agent"))
            if target:
                target.accepted += 1
            return
        if kind not in _AGENT_COUNTED:
            return
        c = self._agent(ts, event.get("agent"))
        if c is None:
            return
        if kind == "session.offered":
            c.offered += 1
        elif kind in ("session.connected", "session.conference_started"):
            c.accepted += 1
        elif kind == "session.declined":
            c.declined += 1
        elif kind == "session.rona":
            c.ronas += 1
        elif kind == "session.wrapped_up":
            c.handled += 1
            c.talk_ms += _ms(event, "talk_ms") or 0
            c.wrap_ms += _ms(event, "wrap_ms") or 0
            codes = event.get("codes") or [event.get("code")]
            for code in codes if isinstance(codes, list) else []:
                if isinstance(code, str) and code:
                    c.wrap_codes[code] = c.wrap_codes.get(code, 0) + 1
        elif kind == "csat.submitted":
            self._rate(c, event)

    def _track_time(self, ts: int, event: Mapping[str, Any]) -> None:
        if event.get("type") == "agent.state_changed":
            aid = event.get("agent")
            if isinstance(aid, str) and aid:
                clock = self._clock(aid, event.get("previous"))
                self._spend(aid, clock, ts)
                state = event.get("state")
                clock.start.state = state if isinstance(state, str) else "offline"
                reason = event.get("reason")
                clock.start.reason = reason if isinstance(reason, str) else ""
        for aid, change in slot_changes(event):
            clock = self._clock(aid, None)
            self._spend(aid, clock, ts)
            clock.start.held = max(0, clock.start.held + change)

    def _clock(self, aid: str, previous: Any) -> _Clock:
        """The agent's clock; one first seen starts in the state its first change left."""
        clock = self._clocks.get(aid)
        if clock is None:
            clock = self._clocks[aid] = _Clock(self.start_ms, AgentStart(previous or "offline"))
        return clock

    def _spend(self, aid: str, clock: _Clock, until: int) -> None:
        """Counts the agent's time from where its clock stands to `until`, bucket by bucket."""
        state = BUSY if clock.start.held > 0 else clock.start.state
        if state not in TIME_STATES:
            state = AgentState.OFFLINE.value  # a state this code does not know counts as not signed in
        at = clock.at
        while at < until:
            upto = min(until, bucket_of(at) + BUCKET_MS)
            key = (bucket_of(at), aid)
            c = self.agents.get(key) or self.agents.setdefault(key, AgentCounters())
            setattr(c, f"{state}_ms", getattr(c, f"{state}_ms") + upto - at)
            if state == AgentState.NOT_READY:
                reasons = c.not_ready_reason_ms
                reasons[clock.start.reason] = reasons.get(clock.start.reason, 0) + upto - at
            at = upto
        clock.at = max(clock.at, until)


_AGENT_COUNTED = frozenset(
    {
        "session.offered",
        "session.connected",
        "session.conference_started",
        "session.declined",
        "session.rona",
        "session.wrapped_up",
        "csat.submitted",
    }
)


def total(counters: Iterable[Any], into: Any) -> Any:
    """The sum of `counters` added into `into` (a fresh QueueCounters or AgentCounters)."""
    for c in counters:
        into.add(c)
    return into


def sessions_held(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many sessions each agent holds after `events` (oldest first), from their slot changes."""
    held: dict[str, int] = {}
    for event in events:
        for aid, change in slot_changes(event):
            held[aid] = max(0, held.get(aid, 0) + change)
    return held


def with_offline_time(c: AgentCounters, span_ms: int) -> AgentCounters:
    """`c` of an interval whose elapsed part lasts `span_ms`, with `offline_ms` the time of that span
    in no other state. An agent's time is always in exactly one state, and a rollup keeps only the
    buckets in which the agent did something, so over a longer interval the offline time is what the
    other states leave of it."""
    signed_in = c.available_ms + c.busy_ms + c.not_ready_ms + c.rona_ms
    c.offline_ms = max(0, span_ms - signed_in)
    return c


def into_intervals(
    counters: Mapping[tuple[int, str], Any],
    boundaries: Sequence[int],
    summed: dict[tuple[int, str], Any],
    empty: Callable[[], Any],
) -> dict[tuple[int, str], Any]:
    """Bucket counters added into `summed`, keyed by (interval number, key): interval i spans
    [boundaries[i - 1], boundaries[i]) (as PostgreSQL's width_bucket numbers them)."""
    for (bucket, key), c in counters.items():
        number = bisect_right(boundaries, bucket)
        into = summed.get((number, key))
        if into is None:
            into = summed[(number, key)] = empty()
        into.add(c)
    return summed
