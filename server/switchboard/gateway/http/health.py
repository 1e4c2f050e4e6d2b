"""Health and metrics: `/healthz`, `/readyz`, `/metrics`; open to load balancers and scrapers."""

from __future__ import annotations

from typing import Literal

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from .common import JSON, services_of
from .openapi import ApiRoute, Body, Operation


class Health(msgspec.Struct, forbid_unknown_fields=True):
    """The process is up."""

    status: Literal["ok"]


class Readiness(msgspec.Struct, forbid_unknown_fields=True):
    """Whether the node can serve: Redis and its pub/sub; PostgreSQL reported apart."""

    status: Literal["ready", "unavailable"]
    #: `ok`, or why not
    redis: str
    #: `ok`, or `unavailable: <exception name>`
    postgres: str


async def healthz(request: Request) -> Response:
    return JSON(Health("ok"))


async def readyz(request: Request) -> Response:
    """Ready means Redis answers and pushes reach this node. PostgreSQL is reported
    apart and does not make the node unready: chats go on while it is away (the
    archive waits in Redis), so a load balancer must not drop every node for it."""
    services = services_of(request)
    try:
        await services.database.ping()
        postgres = "ok"
    except Exception as exc:  # reported, never raised: see above
        postgres = f"unavailable: {type(exc).__name__}"
    try:
        await services.redis.ping()
    except Exception as exc:  # any failure to reach the store means not ready
        return JSON(Readiness("unavailable", type(exc).__name__, postgres), status_code=503)
    if not services.hub.subscribed:  # pushes would not reach new sockets yet
        return JSON(Readiness("unavailable", "pub/sub not subscribed", postgres), status_code=503)
    return JSON(Readiness("ready", "ok", postgres))


async def metrics(request: Request) -> Response:
    return Response(await services_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    ApiRoute("/healthz", healthz, "GET", Operation("Whether the process is up", {200: Health}, tag="health")),
    ApiRoute(
        "/readyz",
        readyz,
        "GET",
        Operation("Whether the node can serve", {200: Readiness, 503: Readiness}, tag="health"),
    ),
    ApiRoute(
        "/metrics",
        metrics,
        "GET",
        Operation(
            "Prometheus metrics",
            {200: Body("text/plain", str, "the Prometheus text exposition format")},
            tag="health",
        ),
    ),
]
