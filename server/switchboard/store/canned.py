"""Canned responses in Redis: one hash per deployment, response id -> JSON."""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from ..domain import canned
from ..domain.errors import ErrorCode, SwitchboardError
from . import clock
from .errors import call
from .keys import Keys
from .scripts import Transition


class Stored(msgspec.Struct):
    title: str
    text: str
    updated_at: int
    #: the rich message (as JSON) the response sends with its text; None: text only
    rich: dict[str, Any] | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Stored).decode


def _view(rid: str | bytes, raw: bytes) -> dict[str, Any]:
    stored = _decode(raw)
    rid = rid.decode() if isinstance(rid, bytes) else rid
    return canned.view(rid, stored.title, stored.text, stored.updated_at, stored.rich)


class CannedResponses:
    def __init__(self, redis: Redis, keys: Keys, cap: int = canned.MAX_RESPONSES) -> None:
        self.redis = redis
        self.key = keys.canned_responses
        self.cap = cap
        self._put = Transition(redis, "put_canned")

    async def put(self, rid: str, body: canned.CannedBody, now_ms: int | None = None) -> tuple[dict[str, Any], bool]:
        """Creates or replaces the response; returns its view and whether it is new."""
        updated_at = clock.now_ms() if now_ms is None else now_ms
        rich = msgspec.to_builtins(body.rich) if body.rich is not None else None
        raw = _encode(Stored(body.title, body.text, updated_at, rich))
        result = await call(self._put(keys=[self.key], args=[rid, raw, self.cap]))
        if result == -1:
            raise SwitchboardError(
                ErrorCode.CONFLICT, f"there are already {self.cap} canned responses; delete one first"
            )
        return _view(rid, raw), result == 1

    async def get(self, rid: str) -> dict[str, Any] | None:
        raw = await call(self.redis.hget(self.key, rid))
        return _view(rid, raw) if raw is not None else None

    async def delete(self, rid: str) -> bool:
        return bool(await call(self.redis.hdel(self.key, rid)))

    async def search(self, words: list[str]) -> list[dict[str, Any]]:
        """Every response holding all `words` (all responses for none), in list order.
        Reads the whole hash: the cap keeps it small enough for that."""
        everything = await call(self.redis.hgetall(self.key))
        views = [_view(rid, raw) for rid, raw in everything.items()]
        return canned.listed([v for v in views if canned.matches(words, v["title"], v["text"])])
