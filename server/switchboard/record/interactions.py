"""The interactions report: the sessions PostgreSQL keeps, filtered and paged.

A session is one stay of a conversation in a queue (a transfer to another
queue starts the next). Its row says who served it, how long the customer
waited (queued to connected, or to the end when nobody answered) and how long
it was handled (connected to wrapped up, or to the end without a wrap-up).
Sessions come in the order they were queued, then by id; a page goes on from
the last one's (queued_at, session_id), which `sessions_by_queued_at` serves.
The customer's words are matched as conversation search matches them
(record/search.py), in the conversation's language, without the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..domain.search import Position
from .database import Database, at, ms
from .search import _matches as words_match


@dataclass(frozen=True)
class InteractionFilter:
    """Which sessions: queued in [start_ms, end_ms), and each other field when given."""

    start_ms: int
    end_ms: int
    #: None: every queue
    queues: frozenset[str] | None = None
    #: sessions any of these agents served
    agents: Sequence[str] = ()
    wrap_up_code: str | None = None
    csat: int | None = None
    channel: str | None = None
    end_reason: str | None = None
    #: the customer's words
    q: str | None = None


_COLUMNS = (
    "s.session_id, s.conversation_id, s.queue, s.agents, c.channel, s.queued_at, s.connected_at, s.ended_at,"
    " s.end_reason, s.wrap_up_code, s.csat_score, s.customer_name,"
    " extract(epoch FROM coalesce(s.connected_at, s.ended_at) - s.queued_at) AS wait_s,"
    " extract(epoch FROM coalesce(s.wrapped_at, s.ended_at) - s.connected_at) AS handle_s"
)


class Interactions:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def page(
        self, only: InteractionFilter, limit: int, cursor: Position | None
    ) -> tuple[list[dict[str, Any]], Position | None]:
        """Up to `limit` sessions after `cursor`, and the position to go on from (None on the last page)."""
        args: list[Any] = []

        def arg(value: Any) -> int:
            args.append(value)
            return len(args)

        where = [f"s.queued_at >= ${arg(at(only.start_ms))}", f"s.queued_at < ${arg(at(only.end_ms))}"]
        if cursor is not None:
            where.append(f"(s.queued_at, s.session_id) > (${arg(at(cursor[0]))}, ${arg(cursor[1])})")
        if only.queues is not None:
            where.append(f"s.queue = ANY(${arg(sorted(only.queues))}::text[])")
        if only.agents:
            where.append(f"s.agents && ${arg(list(only.agents))}::text[]")
        for column, value in (
            ("s.wrap_up_code", only.wrap_up_code),
            ("s.csat_score", only.csat),
            ("c.channel", only.channel),
            ("s.end_reason", only.end_reason),
        ):
            if value is not None:
                where.append(f"{column} = ${arg(value)}")
        if only.q:
            where.append(words_match("c.search", arg(only.q)))
        sql = (
            f"SELECT {_COLUMNS} FROM sessions s JOIN conversations c USING (conversation_id)"
            f" WHERE {' AND '.join(where)} ORDER BY s.queued_at, s.session_id LIMIT ${arg(limit + 1)}"
        )
        async with self.database.pool.acquire() as connection:
            found = await connection.fetch(sql, *args)
        rows = [_row(record) for record in found[:limit]]
        if len(found) <= limit:
            return rows, None
        last = found[limit - 1]
        return rows, (ms(last["queued_at"]) or 0, last["session_id"])


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _row(record: Any) -> dict[str, Any]:
    return {
        "session_id": record["session_id"],
        "conversation_id": record["conversation_id"],
        "queue": record["queue"],
        "agents": list(record["agents"]),
        "channel": record["channel"],
        "queued_at": record["queued_at"],
        "connected_at": record["connected_at"],
        "ended_at": record["ended_at"],
        "wait_s": _seconds(record["wait_s"]),
        "handle_s": _seconds(record["handle_s"]),
        "end_reason": record["end_reason"],
        "wrap_up_code": record["wrap_up_code"],
        "csat": record["csat_score"],
        "customer_name": record["customer_name"],
    }
