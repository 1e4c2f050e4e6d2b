"""Writes of the archive: conversations, sessions, messages, visitors, events.

Every write is idempotent (an upsert, or an insert that skips rows already
there, by conversation and seq, by event id): the archiver copies at least
once, so a copy made twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from ..domain.records import ConversationSnapshot, HistoryEntry, VisitorSnapshot, search_config
from .database import Database, at

__all__ = ["APPLY_REDACTIONS", "INDEX_CONVERSATION", "Archive"]

#: Messages one statement copies at most: encoding a statement's arrays runs on the node's
#: event loop, so a bigger one would hold up the live path for longer at a time.
ROWS_PER_STATEMENT = 500

#: History events whose text is searched (system messages are not customer words, but are found too).
_SEARCHED = ("message", "note")


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "", False) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _agents(view: dict[str, Any]) -> list[str]:
    """Who served the session: its owner, and whoever is in it or wrapping it up now."""
    agents = view.get("agents")
    found = [a["id"] for a in agents if isinstance(a, dict) and a.get("id")] if isinstance(agents, list) else []
    owner = view.get("owner")
    return list(dict.fromkeys([owner, *found] if isinstance(owner, str) and owner else found))


def _session_row(cid: str, view: dict[str, Any]) -> tuple[Any, ...]:
    given = view.get("customer")
    customer: dict[str, Any] = given if isinstance(given, dict) else {}
    return (
        view["id"],
        cid,
        view.get("queue") or "",
        view.get("status") or "closed",
        _text(view.get("language")),
        at(view.get("queued_at")),
        at(view.get("connected_at")),
        at(view.get("ended_at")),
        at(view.get("wrapped_at")),
        _text(view.get("end_reason")),
        _text(view.get("wrap_code")),
        _text(view.get("wrap_notes")),
        _int(view.get("csat_rating")),
        _text(view.get("csat_comment")),
        _agents(view),
        _text(customer.get("name")),
        _text(customer.get("email")),
        _text(customer.get("phone")),
        view,
    )


def _customer_words(view: dict[str, Any]) -> str:
    """The customer's name, email and phone as start_chat gave them."""
    given = view.get("customer")
    customer: dict[str, Any] = given if isinstance(given, dict) else {}
    return " ".join(str(customer[k]) for k in ("name", "email", "phone") if customer.get(k))


def _message_row(entry: HistoryEntry, visitor: str) -> tuple[Any, ...]:
    """The columns of a message after its conversation's id, as _APPEND_MESSAGES takes them."""
    frame = entry.frame
    given = frame.get("from")
    sender: dict[str, Any] = given if isinstance(given, dict) else {}
    role = sender.get("role")
    sender_id = sender.get("id") or (visitor if role == "customer" else None)
    kind = frame.get("type") or "message"
    text = frame.get("text") if kind in _SEARCHED and isinstance(frame.get("text"), str) else None
    return (entry.seq, kind, entry.audience, role, sender_id, text, at(frame.get("ts")), frame)


_UPSERT_VISITOR = """
INSERT INTO visitors (visitor_id, created_at, last_seen_at) VALUES ($1, $2, $3)
ON CONFLICT (visitor_id) DO UPDATE
SET last_seen_at = GREATEST(visitors.last_seen_at, EXCLUDED.last_seen_at),
    created_at = LEAST(visitors.created_at, EXCLUDED.created_at)
"""

_UPSERT_CONVERSATION = """
INSERT INTO conversations
    (conversation_id, visitor_id, channel, language, search_config, created_at, last_activity_at, is_open, ended_at)
VALUES ($1, $2, $3, $4, $5::regconfig, $6, $7, $8, $9)
ON CONFLICT (conversation_id) DO UPDATE
SET channel = EXCLUDED.channel, language = EXCLUDED.language, search_config = EXCLUDED.search_config,
    last_activity_at = GREATEST(conversations.last_activity_at, EXCLUDED.last_activity_at),
    is_open = EXCLUDED.is_open, ended_at = EXCLUDED.ended_at
"""

_UPSERT_SESSION = """
INSERT INTO sessions (session_id, conversation_id, queue, status, language, queued_at, connected_at, ended_at,
    wrapped_at, end_reason, wrap_up_code, wrap_up_notes, csat_score, csat_comment, agents, customer_name,
    customer_email, customer_phone, view)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (session_id) DO UPDATE
SET queue = EXCLUDED.queue, status = EXCLUDED.status, language = EXCLUDED.language,
    connected_at = EXCLUDED.connected_at, ended_at = EXCLUDED.ended_at, wrapped_at = EXCLUDED.wrapped_at,
    end_reason = EXCLUDED.end_reason, wrap_up_code = EXCLUDED.wrap_up_code, wrap_up_notes = EXCLUDED.wrap_up_notes,
    csat_score = EXCLUDED.csat_score, csat_comment = EXCLUDED.csat_comment, agents = EXCLUDED.agents,
    customer_name = EXCLUDED.customer_name, customer_email = EXCLUDED.customer_email,
    customer_phone = EXCLUDED.customer_phone, view = EXCLUDED.view
"""

# The messages of copies, for many conversations in one statement: the messages of
# those PostgreSQL has, the words of the ones inserted joined to their conversation's
# search, its activity and how far it holds the history. A conversation without a row
# back is one PostgreSQL lacks. Rows already there are left as they are: a redaction made
# in PostgreSQL is not undone by a late copy.
_APPEND_MESSAGES = """
WITH inserted AS (
    INSERT INTO messages (conversation_id, seq, kind, audience, sender_role, sender_id, body, sent_at, frame)
    SELECT r.* FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::timestamptz[], $9::jsonb[])
         AS r(conversation_id, seq, kind, audience, sender_role, sender_id, body, sent_at, frame)
    WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.conversation_id = r.conversation_id)
    ON CONFLICT (conversation_id, seq) DO NOTHING
    RETURNING conversation_id, seq, kind, sender_role, body
), copied AS (
    SELECT * FROM unnest($10::text[], $11::timestamptz[], $12::int[]) AS p(conversation_id, active_at, last_seq)
)
UPDATE conversations c SET
    last_activity_at = GREATEST(c.last_activity_at, p.active_at),
    last_seq = GREATEST(c.last_seq, p.last_seq),
    search = c.search || to_tsvector(c.search_config, coalesce((
        SELECT string_agg(i.body, ' ' ORDER BY i.seq) FROM inserted i WHERE i.conversation_id = c.conversation_id
        AND i.kind = 'message' AND i.sender_role IS DISTINCT FROM 'system' AND i.body IS NOT NULL), '')),
    notes_search = c.notes_search || to_tsvector(c.search_config, coalesce((
        SELECT string_agg(i.body, ' ' ORDER BY i.seq) FROM inserted i WHERE i.conversation_id = c.conversation_id
        AND i.kind = 'note' AND i.body IS NOT NULL), ''))
FROM copied p
WHERE c.conversation_id = p.conversation_id
RETURNING c.conversation_id, c.last_seq, EXISTS (
    SELECT 1 FROM redactions r JOIN inserted i ON r.conversation_id = i.conversation_id AND r.seq = i.seq
    WHERE r.conversation_id = c.conversation_id) AS redacted
"""

# A new session's customer fields (name, email, phone) join the conversation's search, as written.
_APPEND_CUSTOMER_TO_SEARCH = """
UPDATE conversations SET search = search || setweight(to_tsvector('simple', $2), 'A') WHERE conversation_id = $1
"""

#: The one place a message's redacted form is written (record/privacy.py redacts through it too).
APPLY_REDACTIONS = """
UPDATE messages m SET body = NULL, redacted_at = r.redacted_at, redacted_by = r.redacted_by,
    frame = jsonb_build_object('type', m.frame->'type', 'conversation_id', m.frame->'conversation_id',
        'message_id', m.frame->'message_id', 'seq', m.frame->'seq', 'from', m.frame->'from', 'ts', m.frame->'ts',
        'redacted', jsonb_build_object('by', r.redacted_by,
                                       'at', (extract(epoch FROM r.redacted_at) * 1000)::bigint))
FROM redactions r
WHERE m.conversation_id = $1 AND r.conversation_id = m.conversation_id AND r.seq = m.seq AND m.redacted_at IS NULL
"""

# The search vectors made again from the rows, after a redaction: nothing of the
# redacted words stays findable.
INDEX_CONVERSATION = """
UPDATE conversations c SET
    search = setweight(to_tsvector('simple', coalesce((
                 SELECT string_agg(concat_ws(' ', s.customer_name, s.customer_email, s.customer_phone), ' ')
                 FROM sessions s WHERE s.conversation_id = c.conversation_id), '')), 'A')
             || to_tsvector(c.search_config, coalesce((
                 SELECT string_agg(m.body, ' ' ORDER BY m.seq) FROM messages m
                 WHERE m.conversation_id = c.conversation_id AND m.kind = 'message'
                   AND m.sender_role IS DISTINCT FROM 'system' AND m.redacted_at IS NULL), '')),
    notes_search = to_tsvector(c.search_config, coalesce((
                 SELECT string_agg(m.body, ' ' ORDER BY m.seq) FROM messages m
                 WHERE m.conversation_id = c.conversation_id AND m.kind = 'note' AND m.redacted_at IS NULL), ''))
WHERE c.conversation_id = $1
"""


class Archive:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def write_conversation(self, snapshot: ConversationSnapshot) -> int | None:
        """Records the conversation, its sessions and the history in the snapshot, in
        one transaction; returns the seq PostgreSQL now holds the history up to. A snapshot
        without sessions (only messages were added) returns None when PostgreSQL does not
        have the conversation yet: it needs a whole copy."""
        record = snapshot.record
        cid = snapshot.conversation_id
        visitor = record.get("visitor") or ""
        sessions = snapshot.sessions
        if sessions is None:
            return (await self.append_messages([snapshot])).get(cid)
        async with self.database.pool.acquire() as connection, connection.transaction():
            if await connection.fetchval("SELECT 1 FROM erased_visitors WHERE visitor_id = $1", visitor):
                return snapshot.last_seq  # copied before the erasure, arriving after it: dropped
            await self._write_record(connection, snapshot)
            known = {
                row["session_id"]
                for row in await connection.fetch("SELECT session_id FROM sessions WHERE conversation_id = $1", cid)
            }
            await connection.executemany(_UPSERT_SESSION, [_session_row(cid, view) for view in sessions])
            # a new session's customer fields join the search
            customer_words = " ".join(_customer_words(view) for view in sessions if view["id"] not in known)
            if customer_words:
                await connection.execute(_APPEND_CUSTOMER_TO_SEARCH, cid, customer_words)
            # its messages as a copy of messages alone adds them, in this transaction
            return (await self._append(connection, [snapshot])).get(cid)

    async def append_messages(self, snapshots: list[ConversationSnapshot]) -> dict[str, int]:
        """Copies of messages alone (snapshots without sessions), in as few statements as
        ROWS_PER_STATEMENT allows: the hot path of the archive. Returns the seq PostgreSQL
        holds for each conversation it has; one missing from the answer needs a whole copy."""
        held: dict[str, int] = {}
        group: list[ConversationSnapshot] = []
        rows = 0
        for snapshot in snapshots:
            if group and rows + len(snapshot.history) > ROWS_PER_STATEMENT:
                held.update(await self._append_apart(group))
                group, rows = [], 0
            group.append(snapshot)
            rows += len(snapshot.history)
        if group:
            held.update(await self._append_apart(group))
        return held

    async def _append_apart(self, snapshots: list[ConversationSnapshot]) -> dict[str, int]:
        async with self.database.pool.acquire() as connection:
            return await self._append(connection, snapshots)

    async def _append(self, connection: Any, snapshots: list[ConversationSnapshot]) -> dict[str, int]:
        """One _APPEND_MESSAGES statement for these snapshots' messages, on `connection`."""
        rows = [
            (snapshot.conversation_id, *_message_row(entry, snapshot.record.get("visitor") or ""))
            for snapshot in snapshots
            for entry in snapshot.history
        ]
        messages = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(9)]
        copied = [
            [s.conversation_id for s in snapshots],
            [at(s.last_activity) for s in snapshots],
            [s.last_seq for s in snapshots],
        ]
        answered = await connection.fetch(_APPEND_MESSAGES, *messages, *copied)
        for row in answered:
            if row["redacted"]:  # redacted before it got here: kept redacted, its words out of search
                async with connection.transaction():
                    await connection.execute(APPLY_REDACTIONS, row["conversation_id"])
                    await connection.execute(INDEX_CONVERSATION, row["conversation_id"])
        return {row["conversation_id"]: row["last_seq"] for row in answered}

    async def _write_record(self, connection: Any, snapshot: ConversationSnapshot) -> None:
        """The visitor and the conversation's own row, from its routing record and sessions."""
        record = snapshot.record
        sessions = snapshot.sessions or []
        visitor = record.get("visitor") or ""
        last = sessions[-1] if sessions else {}
        created = _int(record.get("created_at")) or _int(last.get("queued_at")) or 0
        is_open = record.get("open") == "1"
        ended = None if is_open else max((_int(s.get("ended_at")) or 0 for s in sessions), default=0) or None
        language = _text(last.get("language"))
        await connection.execute(
            _UPSERT_VISITOR, visitor, at(snapshot.visitor_created_at or created), at(snapshot.last_activity)
        )
        await connection.execute(
            _UPSERT_CONVERSATION,
            snapshot.conversation_id,
            visitor,
            record.get("channel") or "webchat",
            language,
            search_config(language),
            at(created),
            at(snapshot.last_activity),
            is_open,
            at(ended),
        )

    async def write_visitor(self, snapshot: VisitorSnapshot) -> None:
        vid = snapshot.visitor_id
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute(_UPSERT_VISITOR, vid, at(snapshot.created_at), at(snapshot.last_seen_at))
            if snapshot.web_sessions:
                await connection.executemany(
                    """
                    INSERT INTO web_sessions (web_session_id, visitor_id, started_at, last_seen_at, first_url,
                        last_url, pages)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (web_session_id) DO UPDATE
                    SET last_seen_at = EXCLUDED.last_seen_at, last_url = EXCLUDED.last_url, pages = EXCLUDED.pages
                    """,
                    [
                        (
                            f"{vid}:{web['id']}",
                            vid,
                            at(web.get("started_at")),
                            at(web.get("last_seen_at") or web.get("started_at")),
                            _text(web.get("first_url")),
                            _text(web.get("last_url")),
                            _int(web.get("pages")) or 0,
                        )
                        for web in snapshot.web_sessions
                        if web.get("started_at")
                    ],
                )
            if snapshot.journey:
                await connection.executemany(
                    "INSERT INTO page_views (visitor_id, viewed_at, url, title) VALUES ($1, $2, $3, $4)"
                    " ON CONFLICT DO NOTHING",
                    [(vid, at(page["ts"]), page["url"], _text(page.get("title"))) for page in snapshot.journey],
                )

    async def write_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        rows = []
        for event_id, event in events:
            id_ms, id_n = (int(part) for part in event_id.split("-"))
            rows.append(
                (
                    id_ms,
                    id_n,
                    event.get("type") or "",
                    at(event.get("ts") or id_ms),
                    _text(event.get("conversation_id")),
                    _text(event.get("session_id")),
                    _text(event.get("queue")),
                    _text(event.get("agent")),
                    event,
                )
            )
        if rows:
            async with self.database.pool.acquire() as connection:
                await connection.executemany(
                    "INSERT INTO events (id_ms, id_n, type, occurred_at, conversation_id, session_id, queue, agent,"
                    " body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                    rows,
                )
