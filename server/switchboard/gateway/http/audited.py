"""The audit trail of the HTTP API: every change that succeeds (any method but GET and
HEAD) is recorded with who made it, from where, the action, its target, and the
resource before and after, with every secret taken out.

The guard (guards.py) runs each handler through `audited`, so a route is audited
without a line of its own. What a resource looked like is read with the same
calls its GET uses (`SNAPSHOTS`); a change of something without a snapshot
keeps what the handler answered as its `after`. The audit write waits for
PostgreSQL (changes are an administrator's, not the chat's live path); if it
fails, the change stands and the failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import Principal, without_secrets
from ...domain.config import ID_PATTERN
from ...record.database import RECORD_ERRORS
from .common import services_of
from .principals import SAFE_METHODS, address

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

Snapshot = Callable[["Services", str], Awaitable[Any]]


async def _first(views: Awaitable[list[Any]]) -> Any:
    found = await views
    return found[0] if found else None


async def _user(services: Services, uid: str) -> Any:
    user = await services.accounts.user(uid)
    return None if user is None else user.view()


#: How to read each resource a route changes, by the route's path.
SNAPSHOTS: dict[str, Snapshot] = {
    "/api/v1/queues/{id}": lambda s, qid: _first(s.router.queue_views([qid])),
    "/api/v1/agents/{id}": lambda s, aid: _first(s.directory.agents([aid])),
    "/api/v1/agents/{id}/state": lambda s, aid: _first(s.directory.agents([aid])),
    "/api/v1/agents/{id}/sign-out": lambda s, aid: _first(s.directory.agents([aid])),
    "/api/v1/canned-responses/{id}": lambda s, rid: s.canned.get(rid),
    "/api/v1/invite-rules/{id}": lambda s, rid: s.visitors.rule(rid),
    "/api/v1/webhooks/{id}": lambda s, wid: s.webhooks.get(wid),
    "/api/v1/users/{id}": _user,
    "/api/v1/users/{id}/invitation": _user,  # never the answer: it holds the link
    "/api/v1/users/{id}/password-reset": _user,
    "/api/v1/api-keys/{id}": lambda s, kid: s.accounts.key(kid),
}
#: Changes that record/privacy.py writes to the trail itself (erasure, redaction).
AUDITED_ELSEWHERE = frozenset(
    {("DELETE", "/api/v1/visitors/{id}"), ("DELETE", "/api/v1/conversations/{id}/messages/{seq}")}
)
VERBS = {"POST": "create", "PUT": "put", "PATCH": "change", "DELETE": "delete"}
#: Actions whose route does not say them well.
ACTIONS = {
    ("POST", "/api/v1/agents/{id}/state"): "agents.state.force",
    ("POST", "/api/v1/agents/{id}/sign-out"): "agents.sign-out",
}


def action_of(method: str, path: str) -> str:
    """`queues.put`, `agents.token.create`, `users.delete`: the route's fixed segments and the verb."""
    if (method, path) in ACTIONS:
        return ACTIONS[method, path]
    segments = [part for part in path.removeprefix("/api/v1/").split("/") if part and not part.startswith("{")]
    return ".".join([*segments, VERBS.get(method, method.lower())])


async def _read(services: Services, snapshot: Snapshot | None, rid: str | None) -> Any:
    if snapshot is None or rid is None or not ID_PATTERN.match(rid):
        return None
    return without_secrets(msgspec.to_builtins(await snapshot(services, rid)))


def _answered(response: Response) -> Any:
    body = getattr(response, "body", b"")
    if not body or not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return without_secrets(msgspec.json.decode(body))
    except msgspec.DecodeError:
        return None


async def audited(request: Request, handler: Callable[[Request], Awaitable[Response]]) -> Response:
    principal: Principal | None = getattr(request.state, "principal", None)
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    if request.method in SAFE_METHODS or principal is None or (request.method, path) in AUDITED_ELSEWHERE:
        return await handler(request)
    services = services_of(request)
    params = request.path_params
    rid = params.get("id")
    snapshot = SNAPSHOTS.get(path)
    before = await _read(services, snapshot, rid)
    response = await handler(request)
    if response.status_code >= 400:
        return response
    answered = _answered(response)
    if rid is None and isinstance(answered, dict) and isinstance(answered.get("id"), str):
        rid = answered["id"]  # a creation: the new resource's id
        snapshot = SNAPSHOTS.get(f"{path}/{{id}}")
    after = None if request.method == "DELETE" else (await _read(services, snapshot, rid) if snapshot else answered)
    target = ":".join(str(params[name]) for name in sorted(params)) if params else (rid or path)
    try:
        await services.audit_trail.record(
            principal.actor, action_of(request.method, path), target, address(request), before, after
        )
    except RECORD_ERRORS as exc:
        log.error(
            "audit trail not written (%s): %s %s by %s", type(exc).__name__, request.method, path, principal.actor
        )
    return response
