"""Statistics: `/api/v1/stats`, for the admin and for supervisors of their queues."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import stats
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.states import Role
from .common import JSON, services_of
from .principals import principal_of


async def _scope(request: Request) -> frozenset[str] | None:
    """The queues a caller may see: all (None) for the admin (token, API key or session),
    its own for a supervisor (agent token or session)."""
    principal = await principal_of(request)
    if principal is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a valid admin or supervisor token is required")
    if principal.admin:
        return None
    profile = await services_of(request).directory.agent_profile(principal.agent or "") or {}
    if profile.get("role") != Role.SUPERVISOR:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only supervisors and the admin read statistics")
    return frozenset(profile.get("queues") or [])


async def get_stats(request: Request) -> Response:
    s = services_of(request)
    scope = await _scope(request)
    params = request.query_params
    window_s = stats.parse_window(params.get("window_s"))
    only = check_id("queue", params["queue"]) if params.get("queue") else None
    if only is not None and scope is not None and only not in scope:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
    snapshot = await s.figures.snapshot()
    queues = [q for q in snapshot.queues if (scope is None or q.id in scope) and (only is None or q.id == only)]
    if only is not None and not queues:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
    recent = await s.event_history.recent_events(snapshot.now_ms - window_s * 1000)
    figures = stats.queue_figures(recent.events, recent.complete_from_ms, snapshot.now_ms, queues, snapshot.agents)
    return JSON(
        {
            "window_s": window_s,
            "from": recent.complete_from_ms,
            "to": snapshot.now_ms,
            "truncated": recent.truncated,
            "events_read": len(recent.events),
            "queues": figures,
        }
    )


routes = [Route("/api/v1/stats", get_stats)]
