"""Webhooks: `/api/v1/webhooks`, their dead letters and replays."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain import webhooks
from ...domain.config import check_id
from ...domain.states import LifecycleEvent
from ...store.clock import now_ms
from ..outbound import refuse_private
from .common import JSON, found, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation


class WebhookView(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A webhook and its delivery figures (never its secret)."""

    id: str
    url: str
    #: the event types it gets; empty: all
    events: list[LifecycleEvent]
    description: str
    created_at: int
    #: the event it was created after: it gets the events after this one
    since: str
    delivered: int
    failed: int
    pending: int
    dead: int
    dead_lettered: int
    dropped: int
    last_status: int | None
    last_error: str | None
    last_error_at: int | None
    last_delivered_at: int | None


class CreatedWebhook(WebhookView, kw_only=True):
    """The new webhook, with its signing secret (shown this once)."""

    secret: str


class WebhookList(msgspec.Struct, forbid_unknown_fields=True):
    webhooks: list[WebhookView]


class DeadLetter(msgspec.Struct, forbid_unknown_fields=True):
    """A delivery that failed every attempt."""

    id: str
    #: the event it carried
    event: dict[str, Any]
    attempts: int | None
    last_error: str | None
    last_status: int | None
    failed_at: int | None


class DeadLetters(msgspec.Struct, forbid_unknown_fields=True):
    """The webhook's dead letters, newest first."""

    dead_letters: list[DeadLetter]


class DeliveryAttempt(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One attempt at a delivery."""

    delivery_id: str
    at: int
    #: delivered; retry (failed, tried again later); dead (failed for the last time)
    outcome: Literal["delivered", "retry", "dead"]
    attempt: int
    #: the event's type
    event: str | None = None
    #: the receiver's HTTP status (absent without an answer)
    status: int | None = None
    error: str | None = None


class RecentDeliveries(msgspec.Struct, forbid_unknown_fields=True):
    """The webhook's latest delivery attempts (at most 20), newest first."""

    deliveries: list[DeliveryAttempt]


class Replayed(msgspec.Struct, forbid_unknown_fields=True):
    """How many dead letters were queued for delivery again."""

    replayed: int


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
async def list_recent_deliveries(request: Request) -> Response:
    attempts = await services_of(request).webhooks.recent_deliveries(_webhook_id(request))
    return JSON({"deliveries": found(attempts, "no such webhook")})


@requires_admin
async def replay_dead_letters(request: Request) -> Response:
    ids = webhooks.decode_replay(await read_body(request))
    count = await services_of(request).webhooks.replay(_webhook_id(request), ids, now_ms())
    return JSON(Replayed(found(count, "no such webhook")))


NO_SUCH = {400: "a bad id", 404: "no such webhook"}

routes = [
    ApiRoute("/api/v1/webhooks", list_webhooks, "GET", Operation("List the webhooks", {200: WebhookList})),
    ApiRoute(
        "/api/v1/webhooks",
        create_webhook,
        "POST",
        Operation(
            "Register a webhook",
            {201: CreatedWebhook},
            request=webhooks.WebhookBody,
            errors={
                400: "a bad body, or a URL whose host is not a public address",
                409: "as many webhooks as may be",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/webhooks/{id}", get_webhook, "GET", Operation("Read a webhook", {200: WebhookView}, errors=NO_SUCH)
    ),
    ApiRoute(
        "/api/v1/webhooks/{id}", delete_webhook, "DELETE", Operation("Delete a webhook", {204: None}, errors=NO_SUCH)
    ),
    ApiRoute(
        "/api/v1/webhooks/{id}/deliveries",
        list_recent_deliveries,
        "GET",
        Operation("List a webhook's recent delivery attempts", {200: RecentDeliveries}, errors=NO_SUCH),
    ),
    ApiRoute(
        "/api/v1/webhooks/{id}/dead-letters",
        list_dead_letters,
        "GET",
        Operation("List a webhook's dead letters", {200: DeadLetters}, errors=NO_SUCH),
    ),
    ApiRoute(
        "/api/v1/webhooks/{id}/dead-letters/replay",
        replay_dead_letters,
        "POST",
        Operation(
            "Deliver dead letters again",
            {200: Replayed},
            request=webhooks.ReplayBody,
            request_optional=True,  # no body: every dead letter
            errors={400: "a bad id or body", 404: "no such webhook"},
        ),
    ),
]
