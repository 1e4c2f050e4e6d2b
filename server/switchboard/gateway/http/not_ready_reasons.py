"""The deployment's not-ready reasons: `/api/v1/not-ready-reasons` (the admin changes them, agents read them)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...domain.config import NotReadyReasons, decode_config
from .common import JSON, read_body, services_of
from .guards import requires_admin_not_agent, requires_admin_or_agent
from .openapi import ApiRoute, Operation


@requires_admin_or_agent
async def get_not_ready_reasons(request: Request) -> Response:
    return JSON(NotReadyReasons(await services_of(request).router.not_ready_reasons()))


@requires_admin_not_agent
async def put_not_ready_reasons(request: Request) -> Response:
    reasons = decode_config(await read_body(request), NotReadyReasons)
    await services_of(request).router.put_not_ready_reasons(reasons.reasons)
    return JSON(reasons)


routes = [
    ApiRoute(
        "/api/v1/not-ready-reasons",
        get_not_ready_reasons,
        "GET",
        Operation("List the not-ready reasons", {200: NotReadyReasons}),
    ),
    ApiRoute(
        "/api/v1/not-ready-reasons",
        put_not_ready_reasons,
        "PUT",
        Operation(
            "Replace the not-ready reasons",
            {200: NotReadyReasons},
            request=NotReadyReasons,
            errors={400: "a bad body: a blank, too long or repeated reason"},
        ),
    ),
]
