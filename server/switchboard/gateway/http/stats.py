"""Statistics: `/api/v1/stats`, for the admin and for supervisors of their queues."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import stats
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.states import Role
from .common import JSON, services_of
from .guards import agent_of, is_admin

if TYPE_CHECKING:
    from ..services import Services


async def _scope(services: Services, authorization: str) -> frozenset[str] | None:
    """The queues a caller may see: all (None) with the admin token, its own with a
    supervisor's agent token."""
    if is_admin(services, authorization):
        return None
    aid = await agent_of(services, authorization)
    if aid is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a valid admin or supervisor token is required")
    profile = await services.directory.agent_profile(aid) or {}
    if profile.get("role") != Role.SUPERVISOR:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only supervisors and the admin read statistics")
    return frozenset(profile.get("queues") or [])


async def get_stats(request: Request) -> Response:
    s = services_of(request)
    scope = await _scope(s, request.headers.get("authorization", ""))
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
