"""Health and metrics: `/healthz`, `/readyz`, `/metrics`; open to load balancers and scrapers."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .common import JSON, services_of


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


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
        return JSON({"status": "unavailable", "redis": type(exc).__name__, "postgres": postgres}, status_code=503)
    if not services.hub.subscribed:  # pushes would not reach new sockets yet
        return JSON({"status": "unavailable", "redis": "pub/sub not subscribed", "postgres": postgres}, status_code=503)
    return JSON({"status": "ready", "redis": "ok", "postgres": postgres})


async def metrics(request: Request) -> Response:
    return Response(await services_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
