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
    services = services_of(request)
    try:
        await services.redis.ping()
    except Exception as exc:  # any failure to reach the store means not ready
        return JSON({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    if not services.hub.subscribed:  # pushes would not reach new sockets yet
        return JSON({"status": "unavailable", "error": "pub/sub not subscribed"}, status_code=503)
    return JSON({"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(await services_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
]
