"""The deadlines: which are due, the expiry step of each, and the liveness of nodes."""

from __future__ import annotations

from .clock import now_ms
from .engine import Engine
from .errors import call

#: Deadline kind -> the Lua script that expires it.
EXPIRY_SCRIPTS = {
    "offer": "offer_timeout",
    "inact": "inactivity",
    "grace": "grace",
    "wrapup": "wrap_up_timeout",
    "maxwait": "queue_timeout",
    "step": "routing_step",
    "overflow": "overflow",
    "node": "node_lost",
    "invite": "invite",
    "outbox": "outbox_pending",
}


class TimerCommands(Engine):
    async def due_deadlines(self, now: int, limit: int = 100) -> list[str]:
        members = await call(self.redis.zrangebyscore(self.keys.deadlines, "-inf", now, start=0, num=limit))
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    async def heartbeat(self, node_id: str, ttl_ms: int, now: int | None = None) -> bool:
        """Renews this node's liveness deadline; True when it was missing (a first
        beat, or the node was declared lost meanwhile)."""
        at = (now_ms() if now is None else now) + ttl_ms
        return bool(await call(self.redis.zadd(self.keys.deadlines, {f"node:{node_id}": at})))

    async def retire(self, node_id: str) -> None:
        """A node leaving cleanly: nothing of it is left to sweep."""
        await call(self.redis.zrem(self.keys.deadlines, f"node:{node_id}"))

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
        cid = await call(self.redis.hget(self.keys.session(sid), "conv"))
        last = await call(self.redis.hget(self.keys.conversation(cid.decode()), "last_activity")) if cid else None
        return last.decode() if last else ""
