"""Erasure and redaction in Redis (GDPR articles 17 and 16): what the live store holds of a person.

`erase_visitor` is one routing step (erase_visitor.lua); what it cannot reach
in that step (the message side of conversations on a Cluster, the entries of
the events stream, webhook deliveries and dead letters) is removed here right
after, each a scan in bounded steps. A redaction rewrites one conversation's history stream in one
step on the conversation's own keys (redact.lua).
"""

from __future__ import annotations

from typing import Any

import msgspec

from .archive import ArchiveCommands
from .errors import call, store_call
from .lists import listed

_json_decode = msgspec.json.Decoder().decode
#: Events stream entries read per step while looking for an erased visitor's.
SCAN_STEP = 1000


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ErasureCommands(ArchiveCommands):
    async def erase_visitor(self, vid: str) -> list[str]:
        """Ends the visitor's open chat (`erased`), closes its sockets (4401) and deletes
        every key of it and of its conversations; returns the conversation ids."""
        k = self.keys
        erased = await self._step("erase_visitor", vid)
        cids = [str(cid) for cid in listed(erased.get("conversations"))]
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.delete(k.conversation(cid), k.history(cid), k.client_msg_ids(cid))
        await call(pipe.execute())
        await self._scrub_events(set(cids), vid)
        await self._scrub_webhooks(set(cids), vid)
        return cids

    async def _scrub_events(self, cids: set[str], vid: str) -> None:
        """Deletes the lifecycle events of those conversations (or naming the visitor) from the stream."""
        if not cids and not vid:
            return
        cursor = "-"
        while True:
            entries = await call(self.redis.xrange(self.keys.events, cursor, "+", count=SCAN_STEP))
            doomed = []
            for eid, fields in entries:
                event = _json_decode(fields[b"e"])
                if event.get("conversation_id") in cids or event.get("visitor_id") == vid:
                    doomed.append(eid)
            if doomed:
                await call(self.redis.xdel(self.keys.events, *doomed))
            if len(entries) < SCAN_STEP:
                return
            cursor = "(" + _s(entries[-1][0])

    async def _scrub_webhooks(self, cids: set[str], vid: str) -> None:
        """Deletes the webhook deliveries (pending ones and dead letters) that carry those
        conversations' events; a lane whose head delivery is gone moves on to the next."""
        k = self.keys
        for wid_raw in await call(self.redis.hkeys(k.webhooks)):
            wid = _s(wid_raw)
            doomed = []
            with store_call:
                async for did, body in self.redis.hscan_iter(k.webhook_jobs(wid), count=500):
                    event = _json_decode(body)
                    if event.get("conversation_id") in cids or (vid and event.get("visitor_id") == vid):
                        doomed.append(_s(did))
            if doomed:
                pipe = self.redis.pipeline(transaction=False)
                pipe.hdel(k.webhook_jobs(wid), *doomed)
                pipe.hdel(k.webhook_dead_info(wid), *doomed)
                pipe.hdel(k.webhook_tries(wid), *doomed)
                for did in doomed:
                    pipe.lrem(k.webhook_dead(wid), 0, did)
                await call(pipe.execute())

    async def forget_conversations(self, cids: list[str]) -> list[str]:
        """What retention deletes: finished conversations (the open ones stay), their keys,
        their events in the stream and the webhook dead letters of those; returns the ids removed."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.hget(k.conversation_record(cid), "visitor")
        visitors = dict(zip(cids, await call(pipe.execute()), strict=True))
        removed = await self.trim_conversations(cids, 0, require_archived=False)
        pipe = self.redis.pipeline(transaction=False)
        for cid in removed:
            if vid := visitors.get(cid):
                pipe.lrem(f"{k.visitor(_s(vid))}:convs", 0, cid)
        await call(pipe.execute())
        for cid in removed:
            if (vid := visitors.get(cid)) and _s(await call(self.redis.hget(k.visitor(_s(vid)), "conv")) or b"") == cid:
                await call(self.redis.hdel(k.visitor(_s(vid)), "conv"))
        pipe = self.redis.pipeline(transaction=False)
        for aid in await call(self.redis.smembers(self.keys.agents)):
            if cids:
                pipe.zrem(self.keys.agent_conversations(_s(aid)), *cids)
        await call(pipe.execute())
        await self._scrub_events(set(cids), "")
        await self._scrub_webhooks(set(cids), "")
        return removed

    async def redact_message(self, cid: str, seq: int, by: str, at_ms: int) -> dict[str, Any] | None:
        """Replaces the text of history entry `seq` with the mark of its redaction and tells
        the conversation's live sockets (`message.redacted`); None when Redis does not hold it."""
        k = self.keys
        with store_call:
            raw = await self.scripts["redact"](
                keys=[k.conversation(cid), k.history(cid)],
                args=[k.prefix, seq, by, at_ms, "0" if self.sharded else "1"],
            )
        doc = _json_decode(raw)
        if not doc.get("ok"):
            return None
        if channels := listed(doc.get("channels")):
            pipe = self.redis.pipeline(transaction=False)
            for channel in channels:
                pipe.spublish(channel, doc["payload"])
            await call(pipe.execute())
        redacted: dict[str, Any] = doc["ok"]
        return redacted
