"""Webhooks: `/api/v1/webhooks`, their dead letters and replays."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import webhooks
from ...domain.config import check_id
from ...store.clock import now_ms
from ..outbound import refuse_private
from .common import JSON, found, read_body, services_of
from .guards import requires_admin


def _webhook_id(request: Request) -> str:
    return check_id("webhook", request.path_params["id"])


@requires_admin
async def create_webhook(request: Request) -> Response:
    body = webhooks.decode_body(await read_body(request))
    if not services_of(request).settings.webhook_allow_private:
        await refuse_private(body.url)
    return JSON(await services_of(request).webhooks.create(body), status_code=201)


@requires_admin
async def list_webhooks(request: Request) -> Response:
    return JSON({"webhooks": await services_of(request).webhooks.views()})


@requires_admin
async def get_webhook(request: Request) -> Response:
    return JSON(found(await services_of(request).webhooks.get(_webhook_id(request)), "no such webhook"))


@requires_admin
async def delete_webhook(request: Request) -> Response:
    found(await services_of(request).webhooks.delete(_webhook_id(request)), "no such webhook")
    return Response(status_code=204)


@requires_admin
async def list_dead_letters(request: Request) -> Response:
    letters = await services_of(request).webhooks.dead_letters(_webhook_id(request))
    return JSON({"dead_letters": found(letters, "no such webhook")})


@requires_admin
async def replay_dead_letters(request: Request) -> Response:
    ids = webhooks.decode_replay(await read_body(request))
    count = await services_of(request).webhooks.replay(_webhook_id(request), ids, now_ms())
    return JSON({"replayed": found(count, "no such webhook")})


routes = [
    Route("/api/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks", create_webhook, methods=["POST"]),
    Route("/api/v1/webhooks/{id}", get_webhook, methods=["GET"]),
    Route("/api/v1/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{id}/dead-letters", list_dead_letters, methods=["GET"]),
    Route("/api/v1/webhooks/{id}/dead-letters/replay", replay_dead_letters, methods=["POST"]),
]
