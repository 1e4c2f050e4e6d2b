"""The Redis side of the archive: what PostgreSQL still has to get, and what may leave Redis.

Every routing step marks the conversations it changed in `archive_dirty`, in
the same atomic step (the message path too, on one Redis; on a cluster the
command marks it right after, before the sender's ack). Each node's archiver
claims a batch with a lease, reads a snapshot of each conversation here,
writes it to PostgreSQL, then confirms the seq PostgreSQL holds
(`archived_seq` on the conversation) and releases its claim. A change made
meanwhile marks the conversation again; a node that dies mid-batch loses its
lease and another node copies the batch. Copying is idempotent in PostgreSQL
(by conversation and seq, by event id), so at least once is exactly once there.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from ..domain.records import ConversationSnapshot, HistoryEntry, VisitorSnapshot, stream_position
from .clock import now_ms
from .engine import Engine
from .errors import call, store_call
from .lists import listed

_json_decode = msgspec.json.Decoder().decode
_json_encode = msgspec.json.Encoder().encode


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _fields(raw: list[bytes] | dict[bytes, bytes]) -> dict[bytes, bytes]:
    """A stream entry's fields, as a script answers them (a flat list) or a client (a dict)."""
    if isinstance(raw, dict):
        return raw
    return dict(zip(raw[::2], raw[1::2], strict=True))


def _history_entry(eid: bytes, fields: dict[bytes, bytes]) -> HistoryEntry:
    return HistoryEntry(int(_s(eid).split("-")[0]), _s(fields.get(b"v", b"all")), _json_decode(fields[b"d"]))


def _stored_session(view: dict[str, Any]) -> dict[str, str]:
    """A session's stored fields from its view (the view adds names, decodes JSON, lists agents)."""
    stored = {}
    for name, value in view.items():
        if name in ("queue_name", "journey", "help"):  # derived, or moot once closed
            continue
        if name == "agents":
            value = ""  # a restored session is closed: nobody is in it
        elif isinstance(value, (dict, list)):
            value = _json_encode(value).decode()
        stored[name] = value if isinstance(value, str) else str(value)
    stored["wrapping"] = ""
    return stored


class ArchiveCommands(Engine):
    async def session_views(self, session_ids: list[str], now: int | None = None) -> list[dict[str, Any]]:
        if not session_ids:
            return []
        return listed(await self._run("view_sessions", *session_ids, now=now))

    async def claim_archive_work(self, work: str, limit: int, lease_ms: int, now: int | None = None) -> list[str]:
        """Up to `limit` pending items of `work` ("dirty": conversations, "visitors"), leased to this node."""
        return [str(item) for item in listed(await self._run("archive_claim", work, limit, lease_ms, now=now))]

    async def release_archive_work(self, work: str, items: list[str]) -> None:
        if items:
            await self._run("archive_release", work, *items)

    async def conversation_snapshot(self, cid: str, max_entries: int = 1000) -> ConversationSnapshot | None:
        """The conversation as Redis holds it, with its history after `archived_seq`
        (at most `max_entries`: the rest goes in the next batch); None when it is gone."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(k.conversation_record(cid))
        pipe.lrange(k.conversation_sessions(cid), 0, -1)
        pipe.srem(k.archive_routing, cid)
        record_raw, session_ids, routing_changed = await call(pipe.execute())
        if not record_raw:
            return None
        record = {_s(key): _s(value) for key, value in record_raw.items()}
        read_side = self.scripts["archive_read"](keys=[k.conversation(cid), k.history(cid)], args=[max_entries])
        sessions: list[dict[str, Any]] | None = None
        visitor_created = None
        with store_call:
            if routing_changed:  # the message side, the sessions and the visitor at once
                side, sessions, visitor_created = await asyncio.gather(
                    read_side,
                    self.session_views([_s(s) for s in session_ids]),
                    self.redis.hget(k.visitor(record.get("visitor", "")), "created_at"),
                )
            else:
                side = await read_side
        last_activity, entries = side
        history = [_history_entry(eid, _fields(raw)) for eid, raw in entries]
        return ConversationSnapshot(
            conversation_id=cid,
            record=record,
            sessions=sessions,
            history=history,
            last_activity=int(last_activity) if last_activity else None,
            visitor_created_at=int(visitor_created) if visitor_created else None,
        )

    async def mark_archive_routing(self, cids: list[str]) -> None:
        """Marks conversations for a whole copy (record and sessions too): one whose copy failed."""
        if cids:
            await call(self.redis.sadd(self.keys.archive_routing, *cids))

    async def confirm_archived(self, cid: str, seq: int) -> None:
        """PostgreSQL holds the conversation's history up to `seq`."""
        k = self.keys
        await self.scripts["archive_confirm"](keys=[k.conversation(cid)], args=[seq])

    async def visitor_snapshot(self, vid: str) -> VisitorSnapshot | None:
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(k.visitor(vid), ["created_at", "last_seen_at"])
        pipe.zrange(k.visitor_web_sessions(vid), 0, -1)
        pipe.lrange(k.visitor_journey(vid), 0, -1)
        (created, last_seen), web_ids, journey = await call(pipe.execute())
        if not created:
            return None
        pipe = self.redis.pipeline(transaction=False)
        for wid in web_ids:
            pipe.hgetall(self.keys.web_session(_s(wid)))
        webs = []
        for wid, raw in zip(web_ids, await call(pipe.execute()), strict=True):
            if raw:
                webs.append({"id": _s(wid), **{_s(key): _s(value) for key, value in raw.items()}})
        return VisitorSnapshot(
            visitor_id=vid,
            created_at=int(created),
            last_seen_at=int(last_seen) if last_seen else None,
            web_sessions=webs,
            journey=[_json_decode(page) for page in journey],
        )

    async def hold_archive_lease(self, what: str, holder: str, lease_ms: int) -> bool:
        """Whether `holder` holds (now takes, or keeps) the lease on `what`: work that one node
        at a time does. Two holders for a moment only copy the same events twice."""
        key = self.keys.archive_lease(what)
        if await call(self.redis.set(key, holder, nx=True, px=lease_ms)):
            return True
        if _s(await call(self.redis.get(key)) or b"") == holder:
            await call(self.redis.pexpire(key, lease_ms))
            return True
        return False

    async def mark_archive_visitors(self, vids: list[str]) -> None:
        if vids:
            await call(self.redis.zadd(self.keys.archive_visitors, dict.fromkeys(vids, now_ms()), nx=True))

    async def events_after(self, cursor: str, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Lifecycle events after stream id `cursor`, oldest first."""
        entries = await call(self.redis.xrange(self.keys.events, f"({cursor}", "+", count=count))
        return [(_s(eid), _json_decode(fields[b"e"])) for eid, fields in entries]

    async def archived_events_cursor(self) -> str:
        return _s(await call(self.redis.get(self.keys.archive_events_cursor)) or b"0-0")

    async def set_archived_events_cursor(self, cursor: str) -> None:
        """Moves the cursor forward only (two nodes may copy the same events)."""
        await self.scripts["archive_events_cursor"](keys=[self.keys.archive_events_cursor], args=[cursor])

    async def trim_events(self, archived: str, window_start_ms: int) -> None:
        """Drops the lifecycle events that PostgreSQL has (up to `archived`), that are older than
        the live window (SSE resume and GET /events read older ones from PostgreSQL) and that
        the webhooks have fanned out."""

        def after(stream_id: str) -> tuple[int, int]:
            ms, n = stream_position(stream_id)
            return ms, n + 1

        threshold = min(after(archived), (window_start_ms, 0))
        fanned = await call(self.redis.get(self.keys.webhook_cursor))
        if fanned:
            threshold = min(threshold, after(_s(fanned)))
        # MINID drops every entry whose id is below the threshold
        await call(self.redis.xtrim(self.keys.events, minid=f"{threshold[0]}-{threshold[1]}", approximate=False))

    async def archive_backlog(self) -> dict[str, int]:
        """How much waits: conversations and visitors to copy, events after the cursor."""
        k = self.keys
        cursor = await self.archived_events_cursor()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(k.archive_dirty)
        pipe.zcard(k.archive_claims("dirty"))
        pipe.zcard(k.archive_visitors)
        pipe.zrange(k.archive_dirty, 0, 0, withscores=True)
        pipe.xrange(k.events, f"({cursor}", "+", count=1)
        dirty, claimed, visitors, oldest, next_event = await call(pipe.execute())
        return {
            "conversations": int(dirty) + int(claimed),
            "visitors": int(visitors),
            "oldest_ms": int(oldest[0][1]) if oldest else 0,
            "oldest_event_ms": int(_s(next_event[0][0]).split("-")[0]) if next_event else 0,
        }

    async def restore_conversation(self, snapshot: ConversationSnapshot) -> str | None:
        """Brings a conversation that left Redis back from what PostgreSQL keeps (its message
        side, then its routing side); returns its last session id (None when it was there)."""
        k = self.keys
        cid = snapshot.conversation_id
        visitor = snapshot.record["visitor"]
        history = [value for e in snapshot.history for value in (e.seq, e.audience, _json_encode(e.frame))]
        await self.scripts["restore_history"](
            keys=[k.conversation(cid), k.history(cid)], args=[visitor, now_ms(), *history]
        )
        stored = [_json_encode(_stored_session(view)) for view in snapshot.sessions or []]
        restored = await self._run("restore_conversation", cid, _json_encode(snapshot.record), *stored)
        return str(restored) if restored else None

    async def trim_visitors(self, window_ms: int, limit: int, now: int | None = None) -> list[str]:
        """Visitors idle past the window, with nothing left in Redis, leave it (re-checked in one step)."""
        return [str(vid) for vid in listed(await self._run("archive_trim_visitors", window_ms, limit, now=now))]

    async def live_conversation_ids(self, cids: list[str]) -> list[str]:
        """Those of `cids` that Redis still holds."""
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.exists(self.keys.conversation_record(cid))
        return [cid for cid, there in zip(cids, await call(pipe.execute()), strict=True) if there]

    async def queue_retention_days(self) -> dict[str, float]:
        """The queues that set their own `retention_days`, with it."""
        qids = [_s(q) for q in await call(self.redis.smembers(self.keys.queues))]
        pipe = self.redis.pipeline(transaction=False)
        for qid in qids:
            pipe.hget(self.keys.queue(qid), "config")
        kept = {}
        for qid, raw in zip(qids, await call(pipe.execute()), strict=True):
            days = _json_decode(raw).get("retention_days") if raw else None
            if days:
                kept[qid] = float(days)
        return kept

    async def finished_before(self, before_ms: int, limit: int) -> list[str]:
        """Conversations whose last session closed before `before_ms`, oldest first."""
        found = await call(self.redis.zrangebyscore(self.keys.archive_finished, "-inf", before_ms, start=0, num=limit))
        return [_s(cid) for cid in found]

    async def trim_conversations(
        self, cids: list[str], window_ms: int, now: int | None = None, *, require_archived: bool = True
    ) -> list[str]:
        """Removes from Redis those of `cids` that are finished past the window and (with
        `require_archived`) fully in PostgreSQL, re-checked in one step; returns the ones removed."""
        if not cids:
            return []
        k = self.keys
        if self.sharded and require_archived:
            # the message side is on other shards: only conversations PostgreSQL has all of
            pipe = self.redis.pipeline(transaction=False)
            for cid in cids:
                pipe.hmget(k.conversation(cid), ["seq", "archived_seq"])
            sides = await call(pipe.execute())
            cids = [cid for cid, (seq, done) in zip(cids, sides, strict=True) if int(done or -1) >= int(seq or 0)]
            if not cids:
                return []
        flag = "1" if require_archived else "0"
        removed = [str(cid) for cid in listed(await self._run("archive_trim", window_ms, flag, *cids, now=now))]
        if self.sharded:
            for cid in removed:
                await self.scripts["archive_forget"](
                    keys=[k.conversation(cid), k.history(cid), k.client_msg_ids(cid)], args=[flag]
                )
        return removed
