"""Reads of the queue and agent reports: counters per 15-minute bucket, from PostgreSQL.

The lifecycle events the archiver copies into `events` are folded by the one
definition of every figure (domain/reporting.py). Closed buckets come from the
rollups (`report_queue_buckets`, `report_agent_buckets`, migration 0008) that
`roll` keeps; what is not rolled up yet (the open tail, a bucket a late event
made stale, the ragged ends of a range that does not start or end on a bucket)
is folded from the raw events at read time, so a report is always complete.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from ..domain.reporting import AgentCounters, AgentStart, Folder, QueueCounters, QueueRules, sessions_held
from .database import Database, at

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
    connection: Connection, start_ms: int, end_ms: int, rules: Mapping[str, QueueRules]
) -> BucketCounters:
    """The raw events of [start_ms, end_ms) folded into bucket counters."""
    folder = Folder(start_ms, end_ms, rules, await agent_starts(connection, start_ms))
    folder.fold(await _raw_events(connection, start_ms, end_ms)).finish()
    return BucketCounters(folder.queues, folder.agents)


class Reports:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def counters(
        self,
        start_ms: int,
        end_ms: int,
        rules: Mapping[str, QueueRules],
        queues: Collection[str] | None = None,
        agents: Collection[str] | None = None,
    ) -> BucketCounters:
        """The bucket counters of [start_ms, end_ms), of only `queues` / `agents` when given."""
        async with self.database.pool.acquire() as connection:
            found = await fold_range(connection, start_ms, end_ms, rules)
        return BucketCounters(
            {k: c for k, c in found.queues.items() if queues is None or k[1] in queues},
            {k: c for k, c in found.agents.items() if agents is None or k[1] in agents},
        )
