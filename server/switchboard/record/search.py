"""Conversation search in PostgreSQL: full-text search in each conversation's language.

Each conversation has one text search vector of what was said with the
customer (and the customer's name and email), made in its language's
configuration (english, german, french, or simple), and one of its internal
notes. A query is parsed in each of the four configurations and matched
against the conversations of that configuration, so "Bestellungen" finds a
German chat that says "Bestellung" and "refunds" an English one that says
"refund"; each branch can use the GIN index.

Without a query, conversations come newest activity first; with one, the
best match first (`ts_rank`), then the newest. Pages are keyset pages on
(order value, conversation id): `next` is the position of the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.records import SEARCH_CONFIGS
from ..domain.search import Position
from ..domain.states import SessionStatus
from .database import Database, ms

CONFIGS = (*SEARCH_CONFIGS.values(), "simple")
# A position is (integer, id) whatever the order: a query's results are ordered by
# rank (to RANK_STEPS steps, at most MAX_RANK) and then by activity in ms, packed
# into one integer that stays below 2**63.
RANK_STEPS = 1000
MAX_RANK = 99
ACTIVITY_SPAN = 10**13


@dataclass(frozen=True)
class Found:
    conversation_id: str
    session_id: str | None
    view: dict[str, Any] | None  # the current session as PostgreSQL last got it
    position: Position


def _matches(vector: str, query: int) -> str:
    """`vector` matches the query ($`query`) in the conversation's own configuration."""
    return (
        "("
        + " OR ".join(
            f"(c.search_config = '{config}'::regconfig AND {vector} @@ plainto_tsquery('{config}', ${query}))"
            for config in CONFIGS
        )
        + ")"
    )


def _rank_then_activity(vector: str, query: int, activity: str) -> str:
    """The order of a query's results as one integer: the rank to three decimals, then the activity."""
    branches = " ".join(
        f"WHEN '{config}'::regconfig THEN ts_rank({vector}, plainto_tsquery('{config}', ${query}))"
        for config in CONFIGS
    )
    rank = f"round(least(CASE c.search_config {branches} ELSE 0 END, {MAX_RANK}) * {RANK_STEPS})::bigint"
    return f"({rank} * {ACTIVITY_SPAN} + {activity})"


@dataclass(frozen=True)
class CustomerFilter:
    """One customer's conversations: by visitor, by the site's id of the customer, by an email
    verified in one of its sessions (lowercase), or several of them."""

    visitor: str | None = None
    external_id: str | None = None
    email: str | None = None


class ConversationSearch:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def page(
        self,
        query: str | None,
        state: SessionStatus | None,
        queue: str | None,
        limit: int,
        cursor: Position | None,
        *,
        among: list[str] | None = None,
        or_in_queues: list[str] | None = None,
        with_notes: bool = True,
        customer: CustomerFilter | None = None,
    ) -> tuple[list[Found], Position | None]:
        """A page of conversations whose current session passes the filters; `among`
        limits it to those ids (an agent's own conversations), or to those whose current
        session is in one of `or_in_queues` (the queues a supervisor supervises). Returns
        the page and the position to go on from (None when nothing follows)."""
        args: list[Any] = []

        def arg(value: Any) -> int:
            args.append(value)
            return len(args)

        where = ["TRUE"]
        activity = "(extract(epoch FROM coalesce(c.last_activity_at, c.created_at)) * 1000)::bigint"
        if query:
            q = arg(query)
            vector = "(c.search || c.notes_search)" if with_notes else "c.search"
            where.append(_matches(vector, q))
            order_value = _rank_then_activity(vector, q, activity)
        else:
            order_value = activity
        if among is not None and or_in_queues:
            where.append(
                f"(c.conversation_id = ANY(${arg(among)}::text[]) OR s.queue = ANY(${arg(or_in_queues)}::text[]))"
            )
        elif among is not None:
            where.append(f"c.conversation_id = ANY(${arg(among)}::text[])")
        if customer is not None and customer.visitor is not None:
            where.append(f"c.visitor_id = ${arg(customer.visitor)}")
        if customer is not None and customer.external_id is not None:
            where.append(
                "EXISTS (SELECT 1 FROM sessions x WHERE x.conversation_id = c.conversation_id"
                f" AND x.view -> 'customer' ->> 'external_id' = ${arg(customer.external_id)})"
            )
        if customer is not None and customer.email is not None:
            # the predicate of the index sessions_by_verified_email (migration 0011)
            where.append(
                "EXISTS (SELECT 1 FROM sessions x WHERE x.conversation_id = c.conversation_id"
                " AND x.view ->> 'verified' = '1'"
                f" AND lower(x.view -> 'customer' ->> 'email') = ${arg(customer.email)})"
            )
        if state is not None:
            where.append(f"s.status = ${arg(state.value)}")
        if queue is not None:
            where.append(f"s.queue = ${arg(queue)}")
        sql = f"""
            SELECT * FROM (
                SELECT c.conversation_id, s.session_id, s.view, {order_value} AS position,
                       coalesce(c.last_activity_at, c.created_at) AS active_at
                FROM conversations c
                LEFT JOIN LATERAL (
                    SELECT session_id, status, queue, view FROM sessions
                    WHERE conversation_id = c.conversation_id ORDER BY queued_at DESC, session_id DESC LIMIT 1
                ) s ON TRUE
                WHERE {" AND ".join(where)}
            ) found
        """
        if cursor is not None:
            sql += f" WHERE (position, conversation_id) < (${arg(cursor[0])}, ${arg(cursor[1])})"
        sql += f" ORDER BY position DESC, conversation_id DESC LIMIT ${arg(limit + 1)}"
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(sql, *args)
        found = [
            Found(r["conversation_id"], r["session_id"], r["view"], (r["position"], r["conversation_id"])) for r in rows
        ]
        more = len(found) > limit
        page = found[:limit]
        return page, (page[-1].position if more and page else None)

    async def activity_ms(self, cid: str) -> int | None:
        async with self.database.pool.acquire() as connection:
            value = await connection.fetchval(
                "SELECT coalesce(last_activity_at, created_at) FROM conversations WHERE conversation_id = $1", cid
            )
        return ms(value)
