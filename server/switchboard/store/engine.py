"""The transition engine: every state transition is one Lua step; its deliveries are published after it.

Guarantee: a transition and its history and lifecycle events are written
atomically; pushes to sockets are best effort (a client that missed one
recovers from history when it resumes).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis, RedisCluster

from ..domain.cards import build_card
from ..domain.errors import SwitchboardError
from .clock import now_ms
from .errors import STORE_ERRORS, ConversationEnded, call, store_call
from .history import read_recent
from .keys import Keys
from .lists import listed, lists_fixed
from .scripts import load_scripts

log = logging.getLogger(__name__)

_json_decode = msgspec.json.Decoder().decode
_json_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Timeouts:
    inactivity_ms: int = 900_000
    grace_ms: int = 60_000


class Engine:
    def __init__(
        self, redis: Redis, keys: Keys, timeouts: Timeouts = Timeouts(), conversation_ops: str | None = None
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.timeouts = timeouts
        self.scripts = load_scripts(redis)
        #: Redis Cluster: pushes use sharded pub/sub (see store/cluster.py)
        self.sharded = isinstance(redis, RedisCluster)
        #: where a routing step's conversation ops are applied: "here", in the step
        #: itself (one Redis), or "outbox", by conversation_apply on the conversation's
        #: own shard (Cluster; tests force it to play a node dying between the steps)
        self.conversation_ops = conversation_ops or ("outbox" if self.sharded else "here")
        self._apply_here = "1" if self.conversation_ops == "here" else "0"

    async def _run(self, name: str, *args: Any, now: int | None = None) -> Any:
        now = now_ms() if now is None else now
        argv = [self.keys.prefix, now, self.timeouts.inactivity_ms, self.timeouts.grace_ms, self._apply_here, *args]
        with store_call:
            raw = await self.scripts[name](keys=[self.keys.root], args=argv)
        doc = lists_fixed(_json_decode(raw))
        if "err" in doc:
            raise SwitchboardError(doc["err"]["code"], doc["err"]["message"])
        result, out = doc["ok"], doc.get("out") or []
        trims: list[Any] = []
        if doc.get("conv"):
            out, trims = await self._apply_conversation_ops(doc["conv"], out, result)
        if b'"_history"' in raw:
            await self._fill_history(result, out)
        if trims:  # the applied ops leave their outboxes while the frames go out
            await asyncio.gather(self._publish(out, now), self._trim_outboxes(trims, now))
        elif out:
            await self._publish(out, now)
        return result

    async def _step(self, name: str, *args: Any, now: int | None = None) -> dict[str, Any]:
        """`_run` of a step whose result is a table."""
        result: dict[str, Any] = await self._run(name, *args, now=now)
        return result

    async def _apply_conversation_ops(
        self, pending: list[dict[str, Any]], out: list[dict[str, Any]], result: Any
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        """The second step of a routing step: applies the ops it left in the outboxes
        of its conversations (each on that conversation's own slot). Returns the
        deliveries with every appended frame filled in, in order (frames of ops
        applied here that this step did not write, a crashed step's, first), and
        what to trim from the outboxes: (conversation id, last op applied) pairs.
        Whoever applies an op delivers its frame, so an op that another node applied
        first (the repair sweep) is left out here. On a store error the routing step
        stands: the outbox's repair deadline applies the ops later."""
        k = self.keys
        apply = self.scripts["conversation_apply"]

        async def one(entry: dict[str, Any]) -> tuple[str, Any]:
            cid = entry["cid"]
            keys = [k.conversation(cid), k.history(cid), k.client_msg_ids(cid)]
            return cid, _json_decode(await apply(keys=keys, args=[cid, *entry["ops"]]))

        applied: dict[tuple[str, int], dict[str, Any]] = {}
        trims: list[Any] = []
        applied_to: list[str] = []
        for outcome in await asyncio.gather(*(one(e) for e in pending), return_exceptions=True):
            if isinstance(outcome, STORE_ERRORS):
                log.warning("conversation ops left for the repair sweep: %s", outcome)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            cid, done = outcome
            trims += [cid, done["applied"]]
            if listed(done["frames"]):
                applied_to.append(cid)
            for frame in listed(done["frames"]):
                applied[(cid, frame["n"])] = {
                    "to": listed(frame["to"]),
                    "frame": lists_fixed(_json_decode(frame["frame"])),
                }
        if applied_to:
            # their history grew after the routing step marked them: mark them again
            await self.mark_archive_dirty(applied_to)
        if isinstance(result, dict) and "_message_op" in result:
            # without it (the ops are left to the repair sweep) the ack goes without a seq
            message = applied.get((result["conversation_id"], result.pop("_message_op")))
            if message is not None:
                result["message_id"], result["seq"] = message["frame"]["message_id"], message["frame"]["seq"]
        own = {(d["cid"], d["op"]) for d in out if "op" in d}
        deliveries = [d for key, d in applied.items() if key not in own]
        for delivery in out:
            if "op" not in delivery:
                deliveries.append(delivery)
            elif (found := applied.get((delivery["cid"], delivery["op"]))) is not None:
                deliveries.append(found)
        return deliveries, trims

    async def mark_archive_dirty(self, cids: list[str]) -> None:
        """Marks conversations whose message side changed outside a routing step (Cluster:
        the archive's set lives on the routing shard; see store/archive.py)."""
        if cids:
            await call(self.redis.zadd(self.keys.archive_dirty, dict.fromkeys(cids, now_ms()), nx=True))

    async def _trim_outboxes(self, trims: list[Any], now: int) -> None:
        k = self.keys
        try:
            await self.scripts["outbox_trim"](
                keys=[k.root], args=[k.prefix, now, self.timeouts.inactivity_ms, self.timeouts.grace_ms, "0", *trims]
            )
        except STORE_ERRORS:
            pass  # the repair sweep trims them: applying them again skips them

    async def _fill_history(self, result: Any, out: list[dict[str, Any]]) -> None:
        """Fills every table a script marked with `_history` (a conversation's recent
        history, read from its own slot after its ops were applied)."""
        marked: list[dict[str, Any]] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if "_history" in value:
                    marked.append(value)
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(result)
        walk(out)
        read: dict[tuple[str, int, bool], list[dict[str, Any]]] = {}
        for holder in marked:
            mark = holder.pop("_history")
            key = (mark["cid"], int(mark["limit"]), bool(mark["messages_only"]))
            if key not in read:
                try:
                    read[key] = await read_recent(self.redis, self.keys, *key)
                except SwitchboardError as exc:
                    log.warning("history of %s not read: %s", key[0], exc.message)
                    read[key] = []
            holder[mark["field"]] = read[key]

    async def _publish(self, deliveries: list[dict[str, Any]], now: int) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for delivery in deliveries:
            frame = delivery["frame"]
            if "_card" in frame:
                frame["card"] = build_card(frame.pop("_card"), now)
            payload = _json_encode(frame)
            for recipient in delivery["to"] or []:
                if self.sharded:
                    pipe.spublish(self.keys.channel(recipient), payload)
                else:
                    pipe.publish(self.keys.channel(recipient), payload)
        try:
            await pipe.execute()
        except STORE_ERRORS:
            pass  # push is best effort; history holds every event that matters

    async def _conversation_script(self, name: str, keys: list[str], *args: Any, payload: bytes = b"") -> Any:
        """Runs `message` or `relay`. On one Redis the script publishes the frame
        itself (one round trip); on a cluster it returns the channels, each in the
        slot of its own tag, and they are SPUBLISHed here."""
        with store_call:
            raw = await self.scripts[name](keys=keys, args=[self.keys.prefix, *args, "0" if self.sharded else "1"])
        doc = _json_decode(raw)
        if "err" in doc:
            if doc["err"]["code"] == "ended":
                raise ConversationEnded()
            raise SwitchboardError(doc["err"]["code"], doc["err"]["message"])
        if channels := listed(doc.get("channels")):
            payload = doc["payload"].encode() if "payload" in doc else payload
            pipe = self.redis.pipeline(transaction=False)
            for channel in channels:
                pipe.spublish(channel, payload)
            try:
                await pipe.execute()
            except STORE_ERRORS:
                pass  # push is best effort; history holds every message
        return doc["ok"]
