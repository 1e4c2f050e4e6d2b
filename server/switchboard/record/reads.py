"""Reads of what PostgreSQL keeps, in the shapes the live reads answer (clients never see where data sits)."""

from __future__ import annotations

from typing import Any

from ..domain.cards import build_card
from ..domain.records import ConversationSnapshot, HistoryEntry, stream_position
from .database import Database, ms


class RecordReads:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def conversation(self, cid: str, now_ms: int) -> dict[str, Any] | None:
        """The whole conversation as `GET /api/v1/conversations/{id}` shows it; None when not kept."""
        async with self.database.pool.acquire() as connection:
            found = await connection.fetchval("SELECT 1 FROM conversations WHERE conversation_id = $1", cid)
            if not found:
                return None
            views = await connection.fetch(
                "SELECT view FROM sessions WHERE conversation_id = $1 ORDER BY queued_at, session_id", cid
            )
            frames = await connection.fetch("SELECT frame FROM messages WHERE conversation_id = $1 ORDER BY seq", cid)
        cards = [build_card(row["view"], now_ms) for row in views]
        events = [row["frame"] for row in frames]
        return {
            "conversation_id": cid,
            "card": cards[-1] if cards else None,
            "sessions": cards,
            "messages": [e for e in events if e.get("type") == "message"],
            "notes": [e for e in events if e.get("type") == "note"],
            "events": [e for e in events if e.get("type") not in ("message", "note")],
        }

    async def latest_conversation(self, vid: str) -> str | None:
        """The visitor's newest conversation that PostgreSQL keeps."""
        async with self.database.pool.acquire() as connection:
            found: str | None = await connection.fetchval(
                "SELECT conversation_id FROM conversations WHERE visitor_id = $1"
                " ORDER BY created_at DESC, conversation_id DESC LIMIT 1",
                vid,
            )
        return found

    async def snapshot(self, cid: str) -> ConversationSnapshot | None:
        """The conversation as PostgreSQL keeps it, to bring back to Redis; None when not kept."""
        async with self.database.pool.acquire() as connection:
            c = await connection.fetchrow("SELECT * FROM conversations WHERE conversation_id = $1", cid)
            if c is None:
                return None
            views = await connection.fetch(
                "SELECT view FROM sessions WHERE conversation_id = $1 ORDER BY queued_at, session_id", cid
            )
            entries = await connection.fetch(
                "SELECT seq, audience, frame FROM messages WHERE conversation_id = $1 ORDER BY seq", cid
            )
        created = ms(c["created_at"]) or 0
        return ConversationSnapshot(
            conversation_id=cid,
            record={"visitor": c["visitor_id"], "channel": c["channel"], "created_at": str(created)},
            sessions=[row["view"] for row in views],
            history=[HistoryEntry(row["seq"], row["audience"], row["frame"]) for row in entries],
            last_activity=ms(c["last_activity_at"]),
            visitor_created_at=None,
        )

    async def events_before(self, start_ms: int, before: str | None, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` lifecycle events from `start_ms` on and before stream id `before`
        (all since `start_ms` when None), oldest first, as the figures read them."""
        before_ms, before_n = stream_position(before) if before else (2**63 - 1, 0)
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT body FROM events WHERE id_ms >= $1 AND (id_ms, id_n) < ($2, $3)"
                " ORDER BY id_ms DESC, id_n DESC LIMIT $4",
                start_ms,
                before_ms,
                before_n,
                limit,
            )
        return _newest_first_to_oldest(rows)

    async def events(self, after: str | None, before: str, limit: int) -> list[dict[str, Any]]:
        """Lifecycle events after `after` and before `before` (stream ids), oldest first, in the
        shape `GET /api/v1/events` answers (the ones that left Redis' stream)."""
        after_ms, after_n = stream_position(after or "0-0")
        before_ms, before_n = stream_position(before)
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id_ms, id_n, body FROM events WHERE (id_ms, id_n) > ($1, $2) AND (id_ms, id_n) < ($3, $4)"
                " ORDER BY id_ms, id_n LIMIT $5",
                after_ms,
                after_n,
                before_ms,
                before_n,
                limit,
            )
        return [{"id": f"{row['id_ms']}-{row['id_n']}", **row["body"]} for row in rows]


def _newest_first_to_oldest(rows: list[Any]) -> list[dict[str, Any]]:
    return [row["body"] for row in reversed(rows)]
