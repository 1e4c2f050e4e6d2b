"""Webhooks in Redis: registrations, delivery jobs in per-webhook lanes, dead letters.

Guarantee: every lifecycle event written after a webhook was created, of a type
it subscribes to, becomes exactly one delivery job for it (`webhook_fanout`
moves a cursor over the events stream and acknowledges the consumer group in
the same step). A job is sent until it gets a 2xx answer, goes to the dead
letters, or its webhook is deleted. A node that dies while sending leaves its
lease on the lane to run out; another node then sends the same delivery again.
So delivery is at least once, and receivers de-duplicate by delivery id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import msgspec
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from ..domain import webhooks as domain
from ..domain.errors import ErrorCode, SwitchboardError
from . import clock
from .errors import call
from .keys import Keys
from .scripts import Transition

#: The consumer group of the events stream that every node's dispatcher reads in.
GROUP = "webhooks"
#: Events stream entries one `webhook_fanout` call handles at most.
FANOUT_BATCH = 200

_encode = msgspec.json.Encoder().encode
_decode_hook = msgspec.json.Decoder(domain.Webhook).decode
_decode = msgspec.json.Decoder().decode


class NoGroup(Exception):
    """There is no webhook, hence no consumer group to read in."""


@dataclass(frozen=True)
class Job:
    """The head delivery of one lane, leased to this node until `lease_end`."""

    lane: str  # "<webhook id>:<n>"
    delivery_id: str
    lease_end: int
    webhook_id: str
    url: str
    secret: str
    body: bytes
    attempts: int  # made before this one


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, b"", "") else None


def stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


class WebhookStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        cap: int = domain.MAX_WEBHOOKS,
        dead_letter_limit: int = domain.DEAD_LETTER_LIMIT,
        max_pending: int = domain.MAX_PENDING,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.cap = cap
        self.dead_letter_limit = dead_letter_limit
        self.max_pending = max_pending
        names = ("create", "delete", "fanout", "take", "finish", "release", "replay", "consumers")
        self._scripts = {n: Transition(redis, f"webhook_{n}") for n in names}

    async def _run(self, name: str, *args: Any) -> Any:
        return await call(self._scripts[name](keys=[self.keys.root], args=list(args)))

    # ------------------------------------------------------------ administration

    async def create(self, body: domain.WebhookBody, now_ms: int | None = None) -> dict[str, Any]:
        """Registers the webhook; returns its view with the secret (shown this once)."""
        created_at = clock.now_ms() if now_ms is None else now_ms
        hook = domain.Webhook(
            url=body.url,
            secret=body.secret or domain.new_secret(),
            created_at=created_at,
            events=body.events or [],
            description=body.description or "",
        )
        for _ in range(3):
            wid = "wh_" + secrets.token_hex(8)
            result = await self._run("create", wid, _encode(hook), created_at, self.cap, GROUP)
            if result == -1:
                raise SwitchboardError(ErrorCode.CONFLICT, f"there are already {self.cap} webhooks; delete one first")
            if result != -2:
                view = await self.get(wid)
                if view is None:  # deleted in between
                    raise SwitchboardError(ErrorCode.CONFLICT, "the webhook was deleted meanwhile")
                return {**view, "secret": hook.secret}
        raise SwitchboardError(ErrorCode.INTERNAL, "could not pick a free webhook id")

    async def _figures(self, wids: list[str]) -> list[dict[str, Any]]:
        pipe = self.redis.pipeline(transaction=False)
        for wid in wids:
            pipe.hgetall(self.keys.webhook(wid))
            for n in range(domain.LANES):
                pipe.llen(self.keys.webhook_lane(wid, n))
            pipe.llen(self.keys.webhook_dead(wid))
        flat = await call(pipe.execute())
        step = domain.LANES + 2
        figures = []
        for i in range(len(wids)):
            stats = {_s(k): v for k, v in flat[i * step].items()}
            lanes = flat[i * step + 1 : i * step + 1 + domain.LANES]
            error = stats.get("last_error")
            figures.append(
                {
                    "since": _s(stats.get("since", b"0-0")),
                    "delivered": _int(stats.get("delivered")) or 0,
                    "failed": _int(stats.get("failed")) or 0,
                    "pending": sum(lanes),
                    "dead": flat[i * step + 1 + domain.LANES],
                    "dead_lettered": _int(stats.get("dead_lettered")) or 0,
                    "dropped": _int(stats.get("dropped")) or 0,
                    "last_status": _int(stats.get("last_status")),
                    "last_error": _s(error) if error else None,
                    "last_error_at": _int(stats.get("last_error_at")),
                    "last_delivered_at": _int(stats.get("last_delivered_at")),
                }
            )
        return figures

    async def get(self, wid: str) -> dict[str, Any] | None:
        raw = await call(self.redis.hget(self.keys.webhooks, wid))
        if raw is None:
            return None
        return domain.view(wid, _decode_hook(raw), (await self._figures([wid]))[0])

    async def views(self) -> list[dict[str, Any]]:
        """Every webhook, oldest first."""
        everything = await call(self.redis.hgetall(self.keys.webhooks))
        hooks = sorted(
            ((_s(wid), _decode_hook(raw)) for wid, raw in everything.items()),
            key=lambda item: (item[1].created_at, item[0]),
        )
        figures = await self._figures([wid for wid, _ in hooks])
        return [domain.view(wid, hook, f) for (wid, hook), f in zip(hooks, figures, strict=True)]

    async def delete(self, wid: str) -> bool:
        return bool(await self._run("delete", wid, domain.LANES, GROUP))

    async def dead_letters(self, wid: str) -> list[dict[str, Any]] | None:
        """The webhook's dead letters, newest first; None when there is no such webhook."""
        if not await call(self.redis.hexists(self.keys.webhooks, wid)):
            return None
        ids = await call(self.redis.lrange(self.keys.webhook_dead(wid), 0, -1))
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(self.keys.webhook_dead_info(wid), ids)
        pipe.hmget(self.keys.webhook_jobs(wid), ids)
        infos, bodies = await call(pipe.execute())
        letters = []
        for did, info, body in zip(ids, infos, bodies, strict=True):
            if info is None or body is None:
                continue  # replayed or trimmed between the two reads
            meta = _decode(info)
            letters.append(
                {
                    "id": _s(did),
                    "event": _decode(body),
                    "attempts": meta.get("attempts"),
                    "last_error": meta.get("last_error"),
                    "last_status": meta.get("last_status"),
                    "failed_at": meta.get("at"),
                }
            )
        return letters

    async def recent_deliveries(self, wid: str) -> list[dict[str, Any]] | None:
        """The webhook's latest delivery attempts, newest first; None when there is no such webhook."""
        if not await call(self.redis.hexists(self.keys.webhooks, wid)):
            return None
        return [_decode(entry) for entry in await call(self.redis.lrange(self.keys.webhook_recent(wid), 0, -1))]

    async def replay(self, wid: str, ids: list[str] | None, now_ms: int) -> int | None:
        """Queues dead letters again (all, or those listed); None when there is no such webhook."""
        if ids == []:
            return 0
        count = await self._run("replay", wid, now_ms, *(ids or []))
        return None if count == -1 else int(count)

    # ------------------------------------------------------------ the dispatcher's side

    async def read(self, consumer: str, count: int, block_ms: int) -> str | None:
        """Reads new entries as `consumer` (waiting up to `block_ms`); the newest id read."""
        try:
            answer = await call(
                self.redis.xreadgroup(
                    GROUP,
                    consumer,
                    {self.keys.events: ">"},
                    count=count,
                    block=block_ms,
                )
            )
        except redis_errors.ResponseError as exc:
            if str(exc).startswith("NOGROUP"):
                raise NoGroup() from None
            raise
        for _stream, entries in answer or []:
            if entries:
                return _s(entries[-1][0])
        return None

    async def claim(self, consumer: str, min_idle_ms: int, rounds: int = 10) -> str | None:
        """Takes over entries other consumers read more than `min_idle_ms` ago without
        acknowledging them (their node died before fanning them out); the newest id taken."""
        newest: str | None = None
        start = "0-0"
        for _ in range(rounds):
            try:
                answer = await call(
                    self.redis.xautoclaim(
                        self.keys.events,
                        GROUP,
                        consumer,
                        min_idle_ms,
                        start_id=start,
                        count=100,
                    )
                )
            except redis_errors.ResponseError as exc:
                if str(exc).startswith("NOGROUP"):
                    raise NoGroup() from None
                raise
            start = _s(answer[0])
            for eid in (_s(entry[0]) for entry in answer[1] if entry):
                if newest is None or stream_id(eid) > stream_id(newest):
                    newest = eid
            if start == "0-0":
                break
        return newest

    async def fan_out(self, upto: str, now_ms: int) -> int:
        """Fans out every entry up to `upto` not fanned out yet; the number of jobs made."""
        created = 0
        for _ in range(10_000):
            cursor, made = await self._run(
                "fanout",
                GROUP,
                upto,
                now_ms,
                domain.LANES,
                self.max_pending,
                FANOUT_BATCH,
            )
            created += int(made)
            cursor = _s(cursor)
            if not cursor or stream_id(cursor) >= stream_id(upto):
                break
        return created

    async def take(self, now_ms: int, lease_ms: int, limit: int) -> list[Job]:
        rows = await self._run("take", now_ms, lease_ms, limit)
        jobs = []
        for lane, did, ends, hook_raw, body, tries in rows:
            hook = _decode_hook(hook_raw)
            lane = _s(lane)
            jobs.append(
                Job(
                    lane=lane,
                    delivery_id=_s(did),
                    lease_end=int(ends),
                    webhook_id=lane.rpartition(":")[0],
                    url=hook.url,
                    secret=hook.secret,
                    body=body,
                    attempts=int(_decode(tries).get("attempts", 0)) if tries else 0,
                )
            )
        return jobs

    async def finish(
        self,
        job: Job,
        outcome: str,
        status: int | None,
        error: str,
        attempts: int,
        retry_at: int,
        now_ms: int,
    ) -> str:
        """outcome "ok", "retry" (at `retry_at`) or "dead"; answers what was recorded, or "stale"."""
        result = await self._run(
            "finish",
            job.lane,
            job.delivery_id,
            job.lease_end,
            now_ms,
            outcome,
            "" if status is None else status,
            error,
            attempts,
            retry_at,
            self.dead_letter_limit,
        )
        return _s(result)

    async def release(self, jobs: list[Job], now_ms: int) -> int:
        if not jobs:
            return 0
        pairs = [v for job in jobs for v in (job.lane, job.lease_end)]
        return int(await self._run("release", now_ms, *pairs))

    async def forget_consumers(self, idle_ms: int, consumer: str = "") -> int:
        return int(await self._run("consumers", GROUP, idle_ms, consumer))
