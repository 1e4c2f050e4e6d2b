"""`GET /metrics`: this node's own gauges, and deployment-wide figures read from
Redis at scrape time (so every node reports the same deployment figures).

When the store does not answer within `STORE_TIMEOUT_S`, the scrape still
answers: with the node's gauges and `switchboard_store_up 0`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from ..domain.errors import SwitchboardError
from ..domain.states import AgentState, EndReason
from ..domain.stats import HISTOGRAM_BUCKETS_MS
from ..store.figures import Figures, Snapshot

log = logging.getLogger(__name__)

STORE_TIMEOUT_S = 2.0
HISTOGRAMS = {
    "answer": (
        "switchboard_answer_time_seconds",
        "Time from queued to connected (wait_ms of session.connected), per queue",
    ),
    "handle": (
        "switchboard_handle_time_seconds",
        "Time from connected to ended (handle_ms of session.ended), per queue",
    ),
}
#: Lifecycle counters per queue: event type -> (metric name without _total, help).
QUEUE_COUNTERS = {
    "session.queued": ("switchboard_sessions_queued", "Sessions queued (new and reopened), per queue"),
    "session.offered": ("switchboard_offers", "Offers made to agents (new, transfer and conference), per queue"),
    "session.rona": ("switchboard_ronas", "Offers that rang out (RONA), per queue"),
    "session.declined": ("switchboard_declines", "Offers declined by agents, per queue"),
    "session.conference_started": ("switchboard_conferences", "Conferences started (a guest agent joined), per queue"),
    "session.wrapped_up": ("switchboard_wrap_ups", "Wrap-ups closed (by a code or the wrap-up timeout), per queue"),
}
TRANSFER_REASONS = {"": "requested", "agent_disconnected": "agent_disconnected"}


def _split(field: str) -> tuple[str, str, str] | None:
    parts = field.split("|", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def store_families(snapshot: Snapshot | None) -> Iterator[Metric]:
    """The deployment-wide families from one read of the store (None: it did not answer)."""
    up = GaugeMetricFamily("switchboard_store_up", "1 when this scrape could read the store (Redis), else 0")
    up.add_metric([], 1 if snapshot is not None else 0)
    yield up
    if snapshot is None:
        return

    waiting = GaugeMetricFamily(
        "switchboard_queue_waiting_sessions", "Sessions waiting in the queue now", labels=["queue"]
    )
    longest = GaugeMetricFamily(
        "switchboard_queue_longest_wait_seconds",
        "How long the oldest waiting session has been in the queue",
        labels=["queue"],
    )
    queue_agents = GaugeMetricFamily(
        "switchboard_queue_agents",
        "Member agents of the queue by state (an agent counts in each of its queues)",
        labels=["queue", "state"],
    )
    agents = GaugeMetricFamily("switchboard_agents", "Agents by state (each agent once)", labels=["state"])
    known_queues = [q.id for q in snapshot.queues]
    overall = dict.fromkeys((s.value for s in AgentState), 0)
    per_queue = {qid: dict.fromkeys(overall, 0) for qid in known_queues}
    for agent in snapshot.agents:
        overall[agent.state] = overall.get(agent.state, 0) + 1
        for qid in agent.queues:
            if qid in per_queue:
                per_queue[qid][agent.state] = per_queue[qid].get(agent.state, 0) + 1
    for q in snapshot.queues:
        waiting.add_metric([q.id], q.waiting)
        longest.add_metric([q.id], q.longest_wait_ms / 1000)
        for state, count in per_queue[q.id].items():
            queue_agents.add_metric([q.id, state], count)
    for state, count in overall.items():
        agents.add_metric([state], count)
    yield from (waiting, longest, queue_agents, agents)

    # Counters: zero for every queue that exists, so rates start at the first event.
    by_queue: dict[str, dict[str, int]] = {t: dict.fromkeys(known_queues, 0) for t in QUEUE_COUNTERS}
    abandons = dict.fromkeys(known_queues, 0)
    ended: dict[tuple[str, str], int] = {(q, r.value): 0 for q in known_queues for r in EndReason}
    transfers: dict[tuple[str, str], int] = {(q, r): 0 for q in known_queues for r in TRANSFER_REASONS.values()}
    state_changes = dict.fromkeys(overall, 0)
    events: dict[str, int] = defaultdict(int)
    histograms: dict[str, dict[str, dict[str, float]]] = {name: {} for name in HISTOGRAMS}
    for name in HISTOGRAMS:
        for qid in known_queues:
            histograms[name][qid] = {}
    for field, value in snapshot.counters.items():
        parts = _split(field)
        if parts is None:
            continue
        kind, queue, detail = parts
        if kind in HISTOGRAMS:
            histograms[kind].setdefault(queue, {})[detail] = value
            continue
        events[kind] += value
        if kind in QUEUE_COUNTERS:
            by_queue[kind][queue] = by_queue[kind].get(queue, 0) + value
        elif kind == "session.ended":
            ended[(queue, detail)] = ended.get((queue, detail), 0) + value
            if detail == EndReason.CUSTOMER_ABANDONED:
                abandons[queue] = abandons.get(queue, 0) + value
        elif kind == "session.transferred":
            reason = TRANSFER_REASONS.get(detail, detail)
            transfers[(queue, reason)] = transfers.get((queue, reason), 0) + value
        elif kind == "agent.state_changed":
            state_changes[detail] = state_changes.get(detail, 0) + value

    for kind, (name, help_text) in QUEUE_COUNTERS.items():
        family = CounterMetricFamily(name, help_text, labels=["queue"])
        for queue, value in sorted(by_queue[kind].items()):
            family.add_metric([queue], value)
        yield family
    family = CounterMetricFamily(
        "switchboard_abandons",
        "Sessions the customer left before an agent connected (reason customer_abandoned), per queue",
        labels=["queue"],
    )
    for queue, value in sorted(abandons.items()):
        family.add_metric([queue], value)
    yield family
    family = CounterMetricFamily(
        "switchboard_sessions_ended", "Sessions ended, per queue and end reason", labels=["queue", "reason"]
    )
    for (queue, reason), value in sorted(ended.items()):
        family.add_metric([queue, reason], value)
    yield family
    family = CounterMetricFamily(
        "switchboard_transfers",
        "Sessions handed on, per queue they went to (to a queue) or were in (to an agent, agent lost); reason "
        "requested (an agent's transfer) or agent_disconnected",
        labels=["queue", "reason"],
    )
    for (queue, reason), value in sorted(transfers.items()):
        family.add_metric([queue, reason], value)
    yield family
    family = CounterMetricFamily(
        "switchboard_agent_state_changes", "Agent state changes, by the new state", labels=["state"]
    )
    for state, value in sorted(state_changes.items()):
        family.add_metric([state], value)
    yield family
    family = CounterMetricFamily("switchboard_lifecycle_events", "Lifecycle events written, by type", labels=["type"])
    for kind, value in sorted(events.items()):
        family.add_metric([kind], value)
    yield family

    for kind, (name, help_text) in HISTOGRAMS.items():
        histogram = HistogramMetricFamily(name, help_text, labels=["queue"])
        for queue, fields in sorted(histograms[kind].items()):
            bounds = sorted({*HISTOGRAM_BUCKETS_MS, *(int(f) for f in fields if f.isdigit())})
            buckets: list[tuple[str, float]] = [
                (floatToGoString(le / 1000), fields.get(str(le), 0))  # type: ignore[no-untyped-call]
                for le in bounds
            ]
            observed = fields.get("count", fields.get("+Inf", 0))
            buckets.append(("+Inf", observed))
            histogram.add_metric([queue], buckets, sum_value=fields.get("sum", 0) / 1000)
        yield histogram


class _StoreCollector:
    """Yields the families of the snapshot read for the scrape in progress."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterator[Metric]:
        return store_families(self.snapshot)


class CountedSocket(Protocol):
    @property
    def role(self) -> str: ...


class Metrics:
    def __init__(
        self,
        sockets: Collection[CountedSocket],
        node_id: str,
        figures: Figures,
        archive_backlog: Callable[[], Awaitable[dict[str, int]]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self._open_sockets = sockets
        self._node_id = node_id
        self._figures = figures
        self._archive_backlog = archive_backlog
        self.sockets = Gauge(
            "switchboard_sockets", "Open client sockets on this node", ["node", "role"], registry=self.registry
        )
        self.archive_entries = Gauge(
            "switchboard_archive_backlog",
            "Work waiting for PostgreSQL (deployment): conversations and visitors with changes not yet copied",
            ["kind"],
            registry=self.registry,
        )
        self.archive_lag = Gauge(
            "switchboard_archive_lag_seconds",
            "How long the oldest change waiting for PostgreSQL has waited (deployment)",
            registry=self.registry,
        )
        self._store = _StoreCollector()
        self.registry.register(self._store)
        self._store_down_logged = False

    def refresh(self) -> None:
        counts = {"customer": 0, "agent": 0}
        for sock in self._open_sockets:
            counts[sock.role] = counts.get(sock.role, 0) + 1
        node = self._node_id
        for role, count in counts.items():
            self.sockets.labels(node, role).set(count)

    async def render(self) -> bytes:
        """The text exposition: node gauges now, deployment figures read from the store now."""
        self.refresh()
        snapshot: Snapshot | None = None
        try:
            snapshot = await asyncio.wait_for(self._figures.snapshot(counters=True), STORE_TIMEOUT_S)
            self._store_down_logged = False
        except (SwitchboardError, TimeoutError) as exc:
            if not self._store_down_logged:
                log.warning("metrics: the store did not answer (%s); serving node gauges only", _reason(exc))
                self._store_down_logged = True
        if self._archive_backlog is not None:
            try:
                backlog = await asyncio.wait_for(self._archive_backlog(), STORE_TIMEOUT_S)
                self.archive_entries.labels("conversations").set(backlog["conversations"])
                self.archive_entries.labels("visitors").set(backlog["visitors"])
                oldest = min((ms for ms in (backlog["oldest_ms"], backlog["oldest_event_ms"]) if ms), default=0)
                self.archive_lag.set(max(0.0, time.time() - oldest / 1000) if oldest else 0.0)
            except (SwitchboardError, TimeoutError):
                pass  # the store is away: logged above
        # No await between setting the snapshot and rendering: a concurrent scrape
        # cannot swap it in between.
        self._store.snapshot = snapshot
        try:
            return generate_latest(self.registry)
        finally:
            self._store.snapshot = None


def _reason(exc: Any) -> str:
    return exc.message if isinstance(exc, SwitchboardError) else type(exc).__name__
