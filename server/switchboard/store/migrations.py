"""Brings data written by an earlier version to the layout this one writes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import cast

import msgspec

from .clock import now_ms
from .engine import Engine
from .errors import call, store_call
from .keys import KEY_SEGMENTS

log = logging.getLogger(__name__)

#: The layout of the stored data this version writes.
DATA_VERSION = 3
_ROUTING_FIELDS = frozenset({"visitor", "channel", "created_at", "session", "open", "agents", "monitors"})

_json_encode = msgspec.json.Encoder().encode


class Migrations(Engine):
    async def upgrade(self) -> int:
        """Brings the data to DATA_VERSION, one version after the other; returns how many
        conversations it moved to another layout. Safe to run on several nodes at once."""
        k = self.keys
        with store_call:
            version = int(await self.redis.get(k.data_version) or 0)
            if version >= DATA_VERSION:
                return 0
            upgraded = 0
            if version < 2:
                upgraded += await self._routing_records()
                await self.redis.set(k.data_version, 2)
            if version < 3:
                marked = await self._system_of_record()
                log.info("%d conversations marked for the first copy to PostgreSQL", marked)
            await self.redis.set(k.data_version, DATA_VERSION)
        return upgraded

    async def _conversation_ids(self) -> AsyncIterator[str]:
        """Every conversation that has a message side."""
        k = self.keys
        async for raw_key in self.redis.scan_iter(match=f"{k.prefix}:c:{{*}}", count=1000):
            key = cast(bytes, raw_key).decode()  # the client does not decode replies
            if key.endswith("}"):  # not a history, client_msg_id index or session list
                yield key[len(k.prefix) + 4 : -1]

    async def _routing_records(self) -> int:
        """Data version 2: a conversation's routing fields moved from its message-side hash
        to the routing record `{sb}:cv:<cid>`."""
        k = self.keys
        upgraded = 0
        async for cid in self._conversation_ids():
            key = k.conversation(cid)
            stored = await call(self.redis.hgetall(key))
            fields = {f.decode(): v.decode() for f, v in stored.items() if f.decode() in _ROUTING_FIELDS}
            if b"applied" in stored:  # new op numbers must come after the ones applied there
                fields["ops"] = stored[b"applied"].decode()
            sessions = [s.decode() for s in await call(self.redis.lrange(key + ":sessions", 0, -1))]
            upgraded += bool(await self._run("upgrade_conversation", cid, _json_encode(fields), *sessions))
        return upgraded

    async def _system_of_record(self) -> int:
        """Data version 3: PostgreSQL is the system of record. Everything Redis holds is
        marked for the archive (the first start with a database copies it all), the
        finished conversations become candidates to leave Redis after the live window,
        and the word index that search kept in Redis goes (search is PostgreSQL's)."""
        k = self.keys
        now = now_ms()
        marked = 0
        async for cid in self._conversation_ids():
            record = await call(self.redis.hmget(k.conversation_record(cid), ["open"]))
            sessions = [s.decode() for s in await call(self.redis.lrange(k.conversation_sessions(cid), 0, -1))]
            pipe = self.redis.pipeline(transaction=False)
            for sid in sessions:
                pipe.hmget(k.session(sid), ["status", "ended_at", "wrapped_at"])
            views = await call(pipe.execute())
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(k.archive_dirty, {cid: now}, nx=True)
            pipe.sadd(k.archive_routing, cid)  # a whole copy: record and sessions too
            closed = record[0] != b"1" and all(v[0] in (None, b"closed") for v in views)
            if closed:
                ended = max((int(v[2] or v[1] or 0) for v in views), default=0) or now
                pipe.zadd(k.archive_finished, {cid: ended})
            await call(pipe.execute())
            marked += 1
        async for raw_key in self.redis.scan_iter(match=f"{k.root}:{KEY_SEGMENTS['visitor']}:*", count=1000):
            key = cast(bytes, raw_key).decode()
            vid = key[len(k.visitor("")) :]
            if ":" not in vid:  # the visitor itself, not one of its lists
                await call(self.redis.zadd(k.archive_visitors, {vid: now}, nx=True))
        async for raw_key in self.redis.scan_iter(match=k.legacy_search_index, count=1000):
            await call(self.redis.unlink(raw_key))
        return marked
