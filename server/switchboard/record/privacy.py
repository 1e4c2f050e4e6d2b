"""Erasure, export and redaction in PostgreSQL (GDPR articles 17, 15 and 20, and 16), and their audit trail.

The audit trail records who did what to whom and when, never the content:
an erasure names the visitor id and how many conversations went, a
redaction the conversation and seq.
"""

from __future__ import annotations

import datetime
from typing import Any

import asyncpg

from ..domain.cards import build_card
from .archive import APPLY_REDACTIONS, INDEX_CONVERSATION
from .attachments import delete_of_conversations
from .database import Database, ms


async def audit(
    connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
) -> None:
    await connection.execute(
        "INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)", actor, action, target, detail
    )


def _iso(value: datetime.datetime | None) -> int | None:
    return ms(value)


class Privacy:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def erase_visitor(self, vid: str, cids: list[str], actor: str) -> int:
        """Deletes every row of the visitor and its conversations (and remembers its id, so
        that a copy still on its way is dropped); returns how many conversations went."""
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute("INSERT INTO erased_visitors (visitor_id) VALUES ($1) ON CONFLICT DO NOTHING", vid)
            kept = [
                row["conversation_id"]
                for row in await connection.fetch(
                    "SELECT conversation_id FROM conversations WHERE visitor_id = $1", vid
                )
            ]
            every = sorted(set(kept) | set(cids))
            await connection.execute(
                "DELETE FROM events WHERE conversation_id = ANY($1::text[]) OR body->>'visitor_id' = $2", every, vid
            )
            await connection.execute("DELETE FROM redactions WHERE conversation_id = ANY($1::text[])", every)
            await delete_of_conversations(connection, every, vid)
            # conversations, sessions, messages, web sessions and page views go with it (ON DELETE CASCADE)
            await connection.execute("DELETE FROM visitors WHERE visitor_id = $1", vid)
            await audit(connection, actor, "visitor.erased", vid, {"conversations": len(every)})
        return len(every)

    async def export_visitor(self, vid: str, actor: str, now_ms: int) -> dict[str, Any] | None:
        """Everything PostgreSQL keeps about the visitor; None when it keeps nothing."""
        async with self.database.pool.acquire() as connection, connection.transaction():
            visitor = await connection.fetchrow("SELECT * FROM visitors WHERE visitor_id = $1", vid)
            if visitor is None:
                return None
            conversations = []
            for c in await connection.fetch(
                "SELECT * FROM conversations WHERE visitor_id = $1 ORDER BY created_at, conversation_id", vid
            ):
                cid = c["conversation_id"]
                sessions = await connection.fetch(
                    "SELECT * FROM sessions WHERE conversation_id = $1 ORDER BY queued_at, session_id", cid
                )
                frames = [
                    row["frame"]
                    for row in await connection.fetch(
                        "SELECT frame FROM messages WHERE conversation_id = $1 ORDER BY seq", cid
                    )
                ]
                conversations.append(
                    {
                        "conversation_id": cid,
                        "channel": c["channel"],
                        "language": c["language"],
                        "created_at": _iso(c["created_at"]),
                        "ended_at": _iso(c["ended_at"]),
                        "sessions": [
                            {
                                **build_card(s["view"], now_ms),
                                "wrap_up": {"code": s["wrap_up_code"], "notes": s["wrap_up_notes"]},
                                "csat": None
                                if s["csat_score"] is None
                                else {"rating": s["csat_score"], "comment": s["csat_comment"]},
                            }
                            for s in sessions
                        ],
                        "messages": [f for f in frames if f.get("type") == "message"],
                        "notes": [f for f in frames if f.get("type") == "note"],
                        "events": [f for f in frames if f.get("type") not in ("message", "note")],
                    }
                )
            web_sessions = [
                {
                    "id": w["web_session_id"].partition(":")[2],
                    "started_at": _iso(w["started_at"]),
                    "last_seen_at": _iso(w["last_seen_at"]),
                    "pages": w["pages"],
                }
                for w in await connection.fetch(
                    "SELECT * FROM web_sessions WHERE visitor_id = $1 ORDER BY started_at", vid
                )
            ]
            page_views = [
                {"url": p["url"], "title": p["title"], "ts": _iso(p["viewed_at"])}
                for p in await connection.fetch(
                    "SELECT * FROM page_views WHERE visitor_id = $1 ORDER BY viewed_at", vid
                )
            ]
            await audit(connection, actor, "visitor.exported", vid, {"conversations": len(conversations)})
        return {
            "visitor": {
                "visitor_id": vid,
                "created_at": _iso(visitor["created_at"]),
                "last_seen_at": _iso(visitor["last_seen_at"]),
            },
            "conversations": conversations,
            "web_sessions": web_sessions,
            "page_views": page_views,
        }

    async def redact_message(self, cid: str, seq: int, actor: str, at_ms: int) -> None:
        """Keeps only that message `seq` was redacted, by whom and when: now if PostgreSQL has
        it, else when the archive brings it."""
        at = datetime.datetime.fromtimestamp(at_ms / 1000, datetime.UTC)
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO redactions (conversation_id, seq, redacted_by, redacted_at) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT DO NOTHING",
                cid,
                seq,
                actor,
                at,
            )
            await connection.execute(APPLY_REDACTIONS, cid)
            await connection.execute(INDEX_CONVERSATION, cid)
            await audit(connection, actor, "message.redacted", f"{cid}:{seq}", {"conversation_id": cid, "seq": seq})

    async def expired_conversations(
        self, default_days: float, queue_days: dict[str, float], now_ms: int, limit: int
    ) -> list[str]:
        """Conversations that ended longer ago than their retention (the queue of their last
        session decides; `default_days` 0 keeps those of other queues forever)."""
        now = datetime.datetime.fromtimestamp(now_ms / 1000, datetime.UTC)
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                """
                SELECT c.conversation_id FROM conversations c
                LEFT JOIN LATERAL (SELECT queue FROM sessions WHERE conversation_id = c.conversation_id
                                   ORDER BY queued_at DESC LIMIT 1) s ON TRUE
                LEFT JOIN unnest($2::text[], $3::float8[]) AS q(queue, days) ON q.queue = s.queue
                WHERE NOT c.is_open AND c.ended_at IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM sessions w WHERE w.conversation_id = c.conversation_id
                                  AND w.status <> 'closed')
                  AND coalesce(q.days, nullif($1::float8, 0)) IS NOT NULL
                  AND c.ended_at < $4::timestamptz - make_interval(secs => coalesce(q.days, $1::float8) * 86400)
                ORDER BY c.ended_at LIMIT $5
                """,
                default_days,
                list(queue_days),
                list(queue_days.values()),
                now,
                limit,
            )
        return [row["conversation_id"] for row in rows]

    async def delete_conversations(self, cids: list[str], now_ms: int) -> int:
        """Deletes the conversations with everything of them, then the visitors with nothing left
        (their journey too); returns how many conversations went. What stays: the audit trail and
        the figures Redis counts, which hold no personal data."""
        if not cids:
            return 0
        async with self.database.pool.acquire() as connection, connection.transaction():
            visitors = [
                row["visitor_id"]
                for row in await connection.fetch(
                    "SELECT DISTINCT visitor_id FROM conversations WHERE conversation_id = ANY($1::text[])", cids
                )
            ]
            await connection.execute("DELETE FROM events WHERE conversation_id = ANY($1::text[])", cids)
            await connection.execute("DELETE FROM redactions WHERE conversation_id = ANY($1::text[])", cids)
            await delete_of_conversations(connection, cids)
            deleted = await connection.fetch(
                "DELETE FROM conversations WHERE conversation_id = ANY($1::text[]) RETURNING 1", cids
            )
            await connection.execute(
                "DELETE FROM visitors v WHERE v.visitor_id = ANY($1::text[])"
                " AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.visitor_id = v.visitor_id)",
                visitors,
            )
            await audit(connection, "retention", "conversations.deleted", "retention", {"conversations": len(deleted)})
        return len(deleted)

    async def message_exists(self, cid: str, seq: int) -> bool:
        async with self.database.pool.acquire() as connection:
            return bool(
                await connection.fetchval("SELECT 1 FROM messages WHERE conversation_id = $1 AND seq = $2", cid, seq)
            )
