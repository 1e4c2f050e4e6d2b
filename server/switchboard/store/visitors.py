"""Visitors' page views and the invite rules they are matched against.

Every page view is matched against every enabled rule, so each node keeps the
rules compiled in memory. Redis keeps a version number of the rules, bumped by
each change; the page view step checks that the node matched against the
current version and, when not, writes nothing and says so: the node reloads
the rules and records the page view again. A page view therefore costs one
round trip while the rules stay the same.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from redis.asyncio import Redis

from ..domain import invites
from ..domain.errors import ErrorCode, SwitchboardError
from . import clock
from .errors import call
from .keys import Keys
from .results import PageViewed
from .router import Router
from .scripts import Transition

log = logging.getLogger(__name__)


class StoredRule(invites.InviteRuleBody, kw_only=True):
    updated_at: int


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(StoredRule).decode


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _view(rid: str, stored: StoredRule) -> dict[str, Any]:
    return {"id": rid, **msgspec.structs.asdict(stored)}


class Visitors:
    def __init__(
        self, redis: Redis, keys: Keys, router: Router, web_session_idle_s: float, max_rules: int = invites.MAX_RULES
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.router = router
        self.idle_ms = int(web_session_idle_s * 1000)
        self.max_rules = max_rules
        self._put = Transition(redis, "put_invite_rule")
        self._rules: tuple[str, list[invites.InviteRule]] | None = None  # (version, rules)

    # ------------------------------------------------------------ page views

    async def page_view(self, vid: str, url: str, title: str | None) -> PageViewed:
        if self._rules is None:
            await self._load_rules()
        for check_version in (True, False):
            version, rules = self._rules or ("", [])
            matches = tuple((r.id, r.body.seconds_on_page) for r in rules if r.wants(url))
            result = await self.router.page_view(
                vid,
                url,
                title,
                self.idle_ms,
                version if check_version else "",
                matches,
            )
            if not result.get("stale"):
                break
            # Changed meanwhile: match against the new rules (a change racing the
            # reload is caught when a timer fires, which reads its rule again).
            await self._load_rules()
        return result

    async def _load_rules(self) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.get(self.keys.invite_rules_version)
        pipe.hgetall(self.keys.invite_rules)
        version, stored = await call(pipe.execute())
        rules = []
        for rid, raw in stored.items():
            try:
                rule = invites.compile_rule(_s(rid), _decode(raw))
            except (msgspec.ValidationError, msgspec.DecodeError, SwitchboardError) as exc:
                log.warning("invite rule %s is unreadable and ignored: %s", _s(rid), exc)
                continue
            rules.append(rule)
        self._rules = (_s(version or "0"), rules)

    # ------------------------------------------------------------ invite rules

    async def put_rule(
        self, rid: str, body: invites.InviteRuleBody, now_ms: int | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Creates or replaces the rule; returns its view and whether it is new."""
        if not await call(self.redis.sismember(self.keys.queues, body.queue)):
            raise SwitchboardError(ErrorCode.BAD_REQUEST, f"unknown queue: {body.queue}")
        updated_at = clock.now_ms() if now_ms is None else now_ms
        stored = StoredRule(**msgspec.structs.asdict(body), updated_at=updated_at)
        keys = [self.keys.invite_rules, self.keys.invite_rules_version]
        result = await call(self._put(keys=keys, args=[rid, _encode(stored), self.max_rules]))
        if result == -1:
            raise SwitchboardError(
                ErrorCode.CONFLICT, f"there are already {self.max_rules} invite rules; delete one first"
            )
        return _view(rid, stored), result == 1

    async def rule(self, rid: str) -> dict[str, Any] | None:
        raw = await call(self.redis.hget(self.keys.invite_rules, rid))
        return _view(rid, _decode(raw)) if raw is not None else None

    async def rules(self) -> list[dict[str, Any]]:
        stored = await call(self.redis.hgetall(self.keys.invite_rules))
        return sorted((_view(_s(rid), _decode(raw)) for rid, raw in stored.items()), key=lambda v: v["id"])

    async def delete_rule(self, rid: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.invite_rules, rid)
        pipe.incr(self.keys.invite_rules_version)
        deleted, _ = await call(pipe.execute())
        return bool(deleted)
