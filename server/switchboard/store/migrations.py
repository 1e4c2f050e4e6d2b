"""Brings data written by an earlier version to the layout this one writes."""

from __future__ import annotations

from typing import cast

import msgspec

from .engine import Engine
from .errors import call, store_call

#: The layout of the stored data this version writes.
DATA_VERSION = 2
_ROUTING_FIELDS = frozenset({"visitor", "channel", "created_at", "session", "open", "agents", "monitors"})

_json_encode = msgspec.json.Encoder().encode


class Migrations(Engine):
    async def upgrade(self) -> int:
        """Runs once per deployment; returns how many conversations it changed. Data
        version 2: a conversation's routing fields moved from its message-side hash
        to the routing record `{sb}:cv:<cid>`. Safe to run on several nodes at once."""
        k = self.keys
        with store_call:
            if int(await self.redis.get(k.data_version) or 0) >= DATA_VERSION:
                return 0
            upgraded = 0
            async for raw_key in self.redis.scan_iter(match=f"{k.prefix}:c:{{*}}", count=1000):
                key = cast(bytes, raw_key).decode()  # the client does not decode replies
                if not key.endswith("}"):
                    continue  # a history, client_msg_id index or session list
                cid = key[len(k.prefix) + 4 : -1]
                stored = await call(self.redis.hgetall(key))
                fields = {f.decode(): v.decode() for f, v in stored.items() if f.decode() in _ROUTING_FIELDS}
                if b"applied" in stored:  # new op numbers must come after the ones applied there
                    fields["ops"] = stored[b"applied"].decode()
                sessions = [s.decode() for s in await call(self.redis.lrange(key + ":sessions", 0, -1))]
                upgraded += bool(await self._run("upgrade_conversation", cid, _json_encode(fields), *sessions))
            await self.redis.set(k.data_version, DATA_VERSION)
        return upgraded
