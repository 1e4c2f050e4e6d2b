"""Read-only views of queues, agents, conversations and lifecycle events."""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from ..domain.config import QueueConfig
from .errors import call
from .keys import Keys
from .router import Router

_decode = msgspec.json.Decoder().decode


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Directory:
    def __init__(self, redis: Redis, keys: Keys, router: Router) -> None:
        self.redis = redis
        self.keys = keys
        self.router = router

    async def agent_profile(self, aid: str) -> dict[str, Any] | None:
        raw = await call(self.redis.hget(self.keys.agent(aid), "config"))
        return _decode(raw) if raw else None

    async def queue_config(self, qid: str) -> QueueConfig | None:
        raw = await call(self.redis.hget(self.keys.queue(qid), "config"))
        return msgspec.json.decode(raw, type=QueueConfig) if raw else None

    async def queue_staffed(self, qid: str) -> bool:
        """Whether an agent of the queue is signed in (connected, not offline), as the routing
        scripts' `Queues.staffed` says it."""
        members = [_s(aid) for aid in await call(self.redis.smembers(self.keys.queue_members(qid)))]
        if not members:
            return False
        pipe = self.redis.pipeline(transaction=False)
        for aid in members:
            pipe.scard(self.keys.agent_connections(aid))
            pipe.hget(self.keys.agent(aid), "state")
        found = await call(pipe.execute())
        return any(
            conns and _s(state or b"") != "offline" for conns, state in zip(found[::2], found[1::2], strict=True)
        )

    async def invite_queue(self, iid: str, visitor_id: str) -> str | None:
        """The queue the visitor's proactive invitation would open its chat in;
        None for an unknown invitation or another visitor's."""
        visitor, qid = await call(self.redis.hmget(self.keys.invite(iid), "visitor", "queue"))
        return _s(qid) if qid and visitor and _s(visitor) == visitor_id else None

    async def held_queues(self, aid: str) -> set[str]:
        """The queues of the sessions the agent holds: connected, or waiting for its wrap-up."""
        sids = [_s(sid) for sid in await call(self.redis.smembers(self.keys.agent_slots(aid)))]
        pipe = self.redis.pipeline(transaction=False)
        for sid in sids:
            pipe.hget(self.keys.session(sid), "queue")
        return {_s(qid) for qid in await call(pipe.execute()) if qid} if sids else set()

    async def conversation_route(self, cid: str) -> tuple[str | None, str]:
        """The queue of the conversation's latest session, and the conversation's channel."""
        sid, channel = await call(self.redis.hmget(self.keys.conversation_record(cid), "session", "channel"))
        qid = await call(self.redis.hget(self.keys.session(_s(sid)), "queue")) if sid else None
        return (_s(qid) if qid else None), (_s(channel) if channel else "")

    async def conversation_parties(self, cid: str) -> tuple[str, list[str], bool] | None:
        """The conversation's visitor, its connected agents and whether a session is open, as the
        message path reads them; None for a conversation Redis does not hold."""
        visitor, agents, is_open = await call(
            self.redis.hmget(self.keys.conversation(cid), "visitor", "agents", "open")
        )
        if not visitor:
            return None
        return _s(visitor), _s(agents or b"").split(), _s(is_open or b"") == "1"

    async def current_session(self, cid: str) -> str | None:
        sid = await call(self.redis.hget(self.keys.conversation_record(cid), "session"))
        return _s(sid) if sid else None

    async def agent_ids(self) -> list[str]:
        return sorted(_s(m) for m in await call(self.redis.smembers(self.keys.agents)))

    async def queue_origins(self) -> set[str]:
        """Every Origin some queue allows for its widget (`allowed_origins` of the queues)."""
        qids = await self.queue_ids()
        if not qids:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        for qid in qids:
            pipe.hget(self.keys.queue(qid), "config")
        origins: set[str] = set()
        for raw in await call(pipe.execute()):
            if raw:
                origins.update(msgspec.json.decode(raw, type=QueueConfig).allowed_origins or ())
        return origins

    async def queue_ids(self) -> list[str]:
        return sorted(_s(m) for m in await call(self.redis.smembers(self.keys.queues)))

    async def token_version(self, aid: str) -> str | None:
        raw = await call(self.redis.hget(self.keys.agent(aid), "token_version"))
        return _s(raw) if raw is not None else None

    async def agents(self, aids: list[str]) -> list[dict[str, Any]]:
        pipe = self.redis.pipeline(transaction=False)
        for aid in aids:
            pipe.hmget(self.keys.agent(aid), "config", "state", "reason", "since")
            pipe.scard(self.keys.agent_connections(aid))
        rows = await call(pipe.execute())
        views = []
        for aid, (config, state, reason, since), conns in zip(aids, rows[::2], rows[1::2], strict=False):
            if not config:
                continue
            view = {"id": aid, **_decode(config), "state": _s(state), "since": int(since), "connected": conns > 0}
            if reason:
                view["reason"] = _s(reason)
            views.append(view)
        return views

    async def conversation(self, cid: str) -> dict[str, Any] | None:
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(k.conversation_record(cid), "session")
        pipe.lrange(k.conversation_sessions(cid), 0, -1)
        current, session_ids = await call(pipe.execute())
        if not current:
            return None
        cards = await self.router.session_cards([_s(s) for s in session_ids])
        events = await self.router.history(cid, 0, audience="agents")
        by_session = {c["session_id"]: c for c in cards}
        return {
            "conversation_id": cid,
            "card": by_session.get(_s(current)),
            "sessions": cards,
            "messages": [e for e in events if e.get("type") == "message"],
            "notes": [e for e in events if e.get("type") == "note"],
            "events": [e for e in events if e.get("type") not in ("message", "note")],
        }

    async def took_part(self, aid: str, cid: str) -> bool:
        """Whether the agent took part in the conversation (among its newest 1000)."""
        return await call(self.redis.zscore(self.keys.agent_conversations(aid), cid)) is not None

    async def agent_conversation_ids(self, aid: str) -> list[str]:
        """The conversations the agent took part in, newest first (at most 1000, kept by the router)."""
        return [_s(cid) for cid in await call(self.redis.zrange(self.keys.agent_conversations(aid), 0, -1, desc=True))]

    async def visitor_conversation_ids(self, vid: str) -> list[str]:
        """The visitor's conversations that Redis knows of, oldest first."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.lrange(f"{self.keys.visitor(vid)}:convs", 0, -1)
        pipe.hget(self.keys.visitor(vid), "conv")
        listed, latest = await call(pipe.execute())
        ids = [_s(cid) for cid in listed]
        if latest and _s(latest) not in ids:
            ids.append(_s(latest))
        return ids

    async def follow_events(self, after: str, block_ms: int, count: int = 500) -> list[tuple[str, bytes]]:
        """Events after stream id `after` ("$" for only new ones), waiting up to
        `block_ms` for the first; each as (id, the event's JSON as stored)."""
        reply = await call(self.redis.xread({self.keys.events: after}, count=count, block=block_ms))
        if not reply:
            return []
        return [(_s(eid), fields[b"e"]) for eid, fields in reply[0][1]]

    async def first_event_id(self) -> str | None:
        entries = await call(self.redis.xrange(self.keys.events, "-", "+", count=1))
        return _s(entries[0][0]) if entries else None

    async def last_event_id(self) -> str:
        entries = await call(self.redis.xrevrange(self.keys.events, "+", "-", count=1))
        return _s(entries[0][0]) if entries else "0-0"

    async def events(self, after: str | None, limit: int) -> dict[str, Any]:
        start = f"({after}" if after else "-"
        entries = await call(self.redis.xrange(self.keys.events, start, "+", count=limit))
        events = [{"id": _s(eid), **_decode(fields[b"e"])} for eid, fields in entries]
        return {"events": events, "next": events[-1]["id"] if events else after}
