"""The router API: every state transition is one Lua step; its deliveries are published after it.

Guarantee: a transition and its history and lifecycle events are written
atomically; pushes to sockets are best effort (a client that missed one
recovers from history when it resumes).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import msgspec
from redis import exceptions as redis_errors
from redis.asyncio import Redis, RedisCluster

from ..domain.cards import build_card
from ..domain.errors import ErrorCode, SwitchboardError
from .keys import Keys
from .scripts import load_scripts

#: Fields that are lists in the contract; Lua's cjson writes an empty one as {}.
LIST_FIELDS = frozenset({
    "thread", "skills", "messages", "agents", "journey", "offers", "sessions", "languages", "queues", "monitoring",
    "visitors",
})

log = logging.getLogger(__name__)

_json_decode = msgspec.json.Decoder().decode
_json_encode = msgspec.json.Encoder().encode


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _lists_fixed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ([] if k in LIST_FIELDS and v == {} else _lists_fixed(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_lists_fixed(v) for v in value]
    return value


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []  # Lua's cjson writes an empty list as {}


@dataclass(frozen=True)
class Timeouts:
    inactivity_ms: int = 900_000
    grace_ms: int = 60_000


def unavailable(exc: Exception) -> SwitchboardError:
    return SwitchboardError(ErrorCode.UNAVAILABLE, f"the store is unreachable ({type(exc).__name__})")


STORE_ERRORS = (
    redis_errors.ConnectionError, redis_errors.TimeoutError, OSError,
    # Redis Cluster, while a shard fails over or slots move (after redis-py's own retries)
    redis_errors.ClusterDownError, redis_errors.TryAgainError, redis_errors.SlotNotCoveredError,
)


#: The layout of the stored data this version writes (see Router.upgrade).
DATA_VERSION = 2
_ROUTING_FIELDS = frozenset({"visitor", "channel", "created_at", "session", "open", "agents", "monitors"})

#: Deadline kind -> the Lua script that expires it.
EXPIRY_SCRIPTS = {
    "offer": "offer_timeout",
    "inact": "inactivity",
    "grace": "grace",
    "wrapup": "wrap_up_timeout",
    "maxwait": "queue_timeout",
    "step": "routing_step",
    "node": "node_lost",
    "invite": "invite",
    "outbox": "outbox_pending",
}


class ConversationEnded(SwitchboardError):
    """A customer wrote into an ended session; the caller opens a new one."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.CONFLICT, "the session has ended")


class Router:
    def __init__(self, redis: Redis, keys: Keys, timeouts: Timeouts = Timeouts(),
                 conversation_ops: str | None = None) -> None:
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

    # ------------------------------------------------------------ plumbing

    async def _run(self, name: str, *args: Any, now: int | None = None) -> Any:
        now = now_ms() if now is None else now
        argv = [self.keys.prefix, now, self.timeouts.inactivity_ms, self.timeouts.grace_ms, self._apply_here, *args]
        try:
            raw = await self.scripts[name](keys=[self.keys.root], args=argv)
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        doc = _lists_fixed(_json_decode(raw))
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
        for outcome in await asyncio.gather(*(one(e) for e in pending), return_exceptions=True):
            if isinstance(outcome, STORE_ERRORS):
                log.warning("conversation ops left for the repair sweep: %s", outcome)
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            cid, done = outcome
            trims += [cid, done["applied"]]
            for frame in _listed(done["frames"]):
                applied[(cid, frame["n"])] = {
                    "to": _listed(frame["to"]), "frame": _lists_fixed(_json_decode(frame["frame"]))}
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

    async def _trim_outboxes(self, trims: list[Any], now: int) -> None:
        k = self.keys
        try:
            await self.scripts["outbox_trim"](
                keys=[k.root], args=[k.prefix, now, self.timeouts.inactivity_ms, self.timeouts.grace_ms, "0", *trims])
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
                    read[key] = await self.recent_history(*key)
                except SwitchboardError as exc:
                    log.warning("history of %s not read: %s", key[0], exc.message)
                    read[key] = []
            holder[mark["field"]] = read[key]

    async def recent_history(self, cid: str, limit: int, messages_only: bool = False) -> list[dict[str, Any]]:
        """The conversation's last `limit` history events (with `messages_only`, its
        last messages: an offer's thread), oldest first, notes included."""
        try:
            entries = await self.redis.xrevrange(
                self.keys.history(cid), "+", "-", count=limit * (3 if messages_only else 1))
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        events = [
            _lists_fixed(_json_decode(fields[b"d"])) for _id, fields in reversed(entries)
            if not messages_only or b'"type":"message"' in fields[b"d"]
        ]
        return events[-limit:]

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
        try:
            raw = await self.scripts[name](keys=keys, args=[self.keys.prefix, *args, "0" if self.sharded else "1"])
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        doc = _json_decode(raw)
        if "err" in doc:
            if doc["err"]["code"] == "ended":
                raise ConversationEnded()
            raise SwitchboardError(doc["err"]["code"], doc["err"]["message"])
        if channels := _listed(doc.get("channels")):
            payload = doc["payload"].encode() if "payload" in doc else payload
            pipe = self.redis.pipeline(transaction=False)
            for channel in channels:
                pipe.spublish(channel, payload)
            try:
                await pipe.execute()
            except STORE_ERRORS:
                pass  # push is best effort; history holds every message
        return doc["ok"]

    # ------------------------------------------------------------ customers

    async def connect(self, kind: str, ident: str, conn_id: str, token_version: str = "", now: int | None = None) -> Any:
        return await self._run("connect", kind, ident, conn_id, token_version, now=now)

    async def disconnect(self, kind: str, ident: str, conn_id: str, now: int | None = None) -> Any:
        return await self._run("disconnect", kind, ident, conn_id, now=now)

    async def start_chat(
        self,
        visitor_id: str,
        conversation_id: str,
        session_id: str,
        queue: str,
        language: str,
        skills: list[str],
        channel: str,
        customer: dict[str, str],
        attributes: dict[str, str],
        text: str = "",
        mode: str = "new",
        client_msg_id: str = "",
        hold_until: int | None = None,
        closed_message: str = "",
        invite_id: str = "",
        now: int | None = None,
    ) -> dict[str, Any]:
        """Queues a new session; with `hold_until` (the queue is closed) it waits
        unrouted until then, and the customer gets `closed_message`; with
        `invite_id` it accepts that invitation, in its queue."""
        return await self._run(
            "start_chat", visitor_id, conversation_id, session_id, queue, language,
            _json_encode(skills), channel, _json_encode(customer), _json_encode(attributes),
            text, mode, client_msg_id, "" if hold_until is None else hold_until, closed_message, invite_id, now=now,
        )

    async def post_message(
        self, cid: str, role: str, sender: str, display_name: str, text: str,
        client_msg_id: str = "", kind: str = "message", now: int | None = None,
    ) -> dict[str, Any]:
        """Appends and publishes a message or note. Raises `ConversationEnded` when a
        customer writes into an ended session (the caller opens a new one)."""
        k = self.keys

        async def post() -> dict[str, Any]:
            return await self._conversation_script(
                "message", [k.conversation(cid), k.history(cid), k.client_msg_ids(cid)],
                now_ms() if now is None else now, kind, role, sender, display_name, text, client_msg_id,
            )

        try:
            return await post()
        except SwitchboardError as exc:
            # The message side may lag its routing record: a node died between a
            # routing step and applying its conversation ops (the repair deadline
            # would apply them seconds later). Apply them now and try once more.
            if exc.code not in (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT):
                raise
            if not await self.catch_up(cid):
                raise
            return await post()

    async def catch_up(self, cid: str) -> bool:
        """Applies the conversation's pending ops now; whether there were any."""
        return bool(await self._run("outbox_pending", cid, "now"))

    async def relay(self, cid: str, role: str, sender: str, frame: dict[str, Any]) -> None:
        payload = _json_encode(frame)
        await self._conversation_script("relay", [self.keys.conversation(cid)], role, sender, payload, payload=payload)

    async def end_chat(self, visitor_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("end_session", "customer", visitor_id, "", now=now)

    async def page_view(
        self, visitor_id: str, url: str, title: str | None, web_session_idle_ms: int,
        rules_version: str = "", matches: tuple[tuple[str, float], ...] = (), now: int | None = None,
    ) -> dict[str, Any]:
        """Records a page view in the visitor's journey and web session and arms the
        invite timers of `matches` (rule id, seconds on page), the rules of version
        `rules_version` that match the url. `{stale: true}` (nothing written) when the
        rules changed since; an empty version skips that check."""
        return await self._run(
            "page_view", visitor_id, url, title or "", web_session_idle_ms, rules_version,
            _json_encode(matches), now=now,
        )

    async def invite(self, visitor_id: str, queue: str, text: str, agent: str = "",
                     now: int | None = None) -> dict[str, Any]:
        """An outbound invitation, by an agent of the queue or (no agent) the admin."""
        return await self._run("invite", visitor_id, "", queue, text, agent, now=now)

    async def dismiss_invite(self, visitor_id: str, invite_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("dismiss_invite", visitor_id, invite_id, now=now)

    async def csat(self, visitor_id: str, rating: int, comment: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._run("csat", visitor_id, rating, comment, now=now)

    # ------------------------------------------------------------ agents

    async def set_state(self, aid: str, state: str, reason: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._run("set_state", aid, state, reason, now=now)

    async def accept(self, aid: str, offer_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("accept", aid, offer_id, now=now)

    async def decline(self, aid: str, offer_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("decline", aid, offer_id, now=now)

    async def end_session(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("end_session", "agent", aid, cid, now=now)

    async def wrap_up(self, aid: str, cid: str, code: str, notes: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._run("wrap_up", aid, cid, code, notes, now=now)

    async def transfer(self, aid: str, cid: str, queue: str | None = None, agent: str | None = None,
                       now: int | None = None) -> dict[str, Any]:
        """To a queue (cold) or to an agent (warm: an offer of kind transfer)."""
        mode, target = ("queue", queue) if queue is not None else ("agent", agent)
        return await self._run("transfer", aid, cid, mode, target, now=now)

    async def conference(self, aid: str, cid: str, target: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("conference", aid, cid, target, now=now)

    async def leave(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("leave", aid, cid, "leave", now=now)

    async def end_conference(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("leave", aid, cid, "end_conference", now=now)

    async def request_help(self, aid: str, cid: str, text: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._run("request_help", aid, cid, text, now=now)

    async def verify_contact(self, aid: str, cid: str, email: str = "", phone: str = "",
                             now: int | None = None) -> dict[str, Any]:
        now = now_ms() if now is None else now
        result = await self._run("verify_contact", aid, cid, email, phone, now=now)
        return {"conversation_id": cid, "card": build_card(result["session"], now)}

    async def monitor(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        """Starts a supervisor's silent monitoring; returns the card and the history so far."""
        now = now_ms() if now is None else now
        result = await self._run("monitor", aid, cid, "monitor", now=now)
        return {"conversation_id": cid, "monitoring": True, "card": build_card(result["session"], now),
                "messages": result["messages"]}

    async def unmonitor(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._run("monitor", aid, cid, "unmonitor", now=now)

    # ------------------------------------------------------------ timers

    async def due_deadlines(self, now: int, limit: int = 100) -> list[str]:
        try:
            members = await self.redis.zrangebyscore(self.keys.deadlines, "-inf", now, start=0, num=limit)
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    async def heartbeat(self, node_id: str, ttl_ms: int, now: int | None = None) -> bool:
        """Renews this node's liveness deadline; True when it was missing (a first
        beat, or the node was declared lost meanwhile)."""
        at = (now_ms() if now is None else now) + ttl_ms
        try:
            return bool(await self.redis.zadd(self.keys.deadlines, {f"node:{node_id}": at}))
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc

    async def retire(self, node_id: str) -> None:
        """A node leaving cleanly: nothing of it is left to sweep."""
        try:
            await self.redis.zrem(self.keys.deadlines, f"node:{node_id}")
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc

    async def expire(self, member: str, now: int | None = None) -> bool:
        """Runs the idempotent expiry step of one due deadline, `<kind>:<arg>[:<arg>]`
        (ids never hold a colon); the arguments go to the script in that order."""
        kind, _, rest = member.partition(":")
        script = EXPIRY_SCRIPTS.get(kind)
        if script is None:  # written by a newer version? drop it
            await self.redis.zrem(self.keys.deadlines, member)
            return False
        args = rest.split(":")
        if kind == "inact":  # the script cannot read the conversation's side: it gets its last activity
            args.append(await self._last_activity(args[0]))
        return bool(await self._run(script, *args, now=now))

    async def _last_activity(self, sid: str) -> str:
        try:
            cid = await self.redis.hget(self.keys.session(sid), "conv")
            last = await self.redis.hget(self.keys.conversation(cid.decode()), "last_activity") if cid else None
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        return last.decode() if last else ""

    # ------------------------------------------------------------ administration

    async def put_queue(self, qid: str, config_json: bytes) -> None:
        await self._run("put_queue", qid, config_json)

    async def delete_queue(self, qid: str) -> None:
        await self._run("delete_queue", qid)

    async def put_agent(self, aid: str, config_json: bytes) -> bool:
        return bool((await self._run("put_agent", aid, config_json))["created"])

    async def delete_agent(self, aid: str) -> None:
        await self._run("delete_agent", aid)

    async def ensure_id_key(self) -> None:
        """Writes the random key of offer and invitation ids, unless a node did already."""
        try:
            await self.redis.set(self.keys.id_key, secrets.token_hex(32), nx=True)
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc

    async def revoke_tokens(self, aid: str) -> None:
        """Every token issued for the agent so far stops working; its open sockets close."""
        await self._run("revoke_token", aid)

    # ------------------------------------------------------------ reads

    async def session_cards(self, session_ids: list[str], now: int | None = None) -> list[dict[str, Any]]:
        if not session_ids:
            return []
        now = now_ms() if now is None else now
        views = await self._run("view_sessions", *session_ids, now=now)
        return [build_card(v, now) for v in views or []]

    async def open_session_cards(self, qids: list[str], now: int | None = None) -> list[dict[str, Any]]:
        """The cards of the sessions of these queues that have not closed, oldest first."""
        if not qids:
            return []
        now = now_ms() if now is None else now
        views = await self._run("view_open_sessions", *qids, now=now)
        cards = [build_card(v, now) for v in views or []]
        return sorted(cards, key=lambda card: card["queued_at"])

    async def transfer_targets(self, aid: str) -> dict[str, Any]:
        """Every queue, and every other agent with whether it can take a transfer or
        a conference now, sorted for a picker: free agents first, then by name."""
        found = await self._run("view_transfer_targets", aid)

        queues = sorted(_listed(found.get("queues")), key=lambda q: (q["name"].casefold(), q["id"]))
        agents = _listed(found.get("agents"))
        for agent in agents:
            agent["queues"] = sorted(_listed(agent.get("queues")))
        agents.sort(key=lambda a: (not a["free"], a["display_name"].casefold(), a["id"]))
        return {"queues": queues, "agents": agents}

    async def queue_views(self, qids: list[str]) -> list[dict[str, Any]]:
        if not qids:
            return []
        views = await self._run("view_queues", *qids)
        return [
            {"id": v["id"], **_json_decode(v["config"]), "waiting": v["waiting"],
             "longest_wait_ms": v["longest_wait_ms"], "agents_available": v["agents_available"]}
            for v in views or []
        ]

    async def online_visitors(self, cursor: str, limit: int) -> dict[str, Any]:
        """A page of the online visitors, ordered by id; `next` is the cursor of the next."""
        return await self._run("view_visitors", "online", cursor, limit)

    async def visitor(self, vid: str, now: int | None = None) -> dict[str, Any] | None:
        """One visitor: presence, current page, current web session with its pages, and
        the cards of its conversations (newest first); None when unknown."""
        now = now_ms() if now is None else now
        view = await self._run("view_visitors", "one", vid, now=now)
        if view is None:
            return None
        view["conversations"] = await self.session_cards(view.pop("sessions"), now)
        return view

    async def history(self, cid: str, after_seq: int = 0, audience: str = "agents", limit: int = 10_000) -> list[dict[str, Any]]:
        """History events with seq > `after_seq`, in order; a customer's view leaves out notes."""
        try:
            entries = await self.redis.xrange(self.keys.history(cid), f"{after_seq + 1}-0", "+", count=limit)
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        events = []
        for _id, fields in entries:
            if audience == "customer" and fields.get(b"v") == b"agents":
                continue
            events.append(_json_decode(fields[b"d"]))
        return events

    async def history_length(self, cid: str) -> int:
        try:
            raw = await self.redis.hget(self.keys.conversation(cid), "seq")
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        return int(raw or 0)

    # ------------------------------------------------------------ upgrades

    async def upgrade(self) -> int:
        """Brings data written by an earlier version to the current layout, once per
        deployment; returns how many conversations it changed. Data version 2: a
        conversation's routing fields moved from its message-side hash to the
        routing record `{sb}:cv:<cid>`. Safe to run on several nodes at once."""
        k = self.keys
        try:
            if int(await self.redis.get(k.data_version) or 0) >= DATA_VERSION:
                return 0
            upgraded = 0
            async for raw_key in self.redis.scan_iter(match=f"{k.prefix}:c:{{*}}", count=1000):
                key = raw_key.decode()
                if not key.endswith("}"):
                    continue  # a history, client_msg_id index or session list
                cid = key[len(k.prefix) + 4 : -1]
                stored = await self.redis.hgetall(key)
                fields = {f.decode(): v.decode() for f, v in stored.items() if f.decode() in _ROUTING_FIELDS}
                if b"applied" in stored:  # new op numbers must come after the ones applied there
                    fields["ops"] = stored[b"applied"].decode()
                sessions = [s.decode() for s in await self.redis.lrange(key + ":sessions", 0, -1)]
                upgraded += bool(await self._run("upgrade_conversation", cid, _json_encode(fields), *sessions))
            await self.redis.set(k.data_version, DATA_VERSION)
        except STORE_ERRORS as exc:
            raise unavailable(exc) from exc
        return upgraded
