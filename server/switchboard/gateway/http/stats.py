"""Statistics: `/api/v1/stats`, for the admin and for supervisors of their queues."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain import stats
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.frames.outgoing import QueueFigures
from ...domain.states import Role
from .common import JSON, services_of
from .openapi import ApiRoute, Operation, Param, QueryId
from .principals import principal_of


class Statistics(msgspec.Struct, forbid_unknown_fields=True):
    """Each queue's figures over the window."""

    window_s: int
    #: the window's start (ms since the epoch): later than asked when `truncated`
    from_: int = msgspec.field(name="from")
    to: int
    #: whether fewer events than the window holds were read
    truncated: bool
    events_read: int
    queues: list[QueueFigures]


async def supervisor_scope(request: Request) -> frozenset[str] | None:
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
    scope = await supervisor_scope(request)
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
    # the figures are built as mappings; encoded as they are, described by QueueFigures
    queues_figures: Any = figures
    return JSON(
        Statistics(
            window_s=window_s,
            from_=recent.complete_from_ms,
            to=snapshot.now_ms,
            truncated=recent.truncated,
            events_read=len(recent.events),
            queues=queues_figures,
        )
    )


routes = [
    ApiRoute(
        "/api/v1/stats",
        get_stats,
        "GET",
        Operation(
            "Read the queues' statistics",
            {200: Statistics},
            params=[
                Param(
                    "window_s",
                    Annotated[int, msgspec.Meta(ge=1, le=stats.MAX_WINDOW_S)],
                    f"the window, in seconds back from now (default {stats.DEFAULT_WINDOW_S})",
                ),
                Param("queue", QueryId, "only this queue"),
            ],
            errors={
                400: "a bad parameter",
                403: "an agent that is not a supervisor, or a queue that is not one of the supervisor's",
                404: "no such queue",
            },
            access="admin_or_supervisor",
        ),
    ),
]
