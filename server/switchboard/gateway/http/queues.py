"""Queues: `/api/v1/queues`, their wrap-up codes, and the desk's transfer targets."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.config import QueueConfig, WrapUpCode, decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.frames.outgoing import QueueRef
from ...domain.states import AgentState, Role
from .common import JSON, path_id, read_body, services_of
from .guards import requires_admin, requires_admin_or_agent
from .openapi import ApiRoute, Operation


class QueueView(QueueConfig, kw_only=True):
    """A queue: its configuration with every default filled in, and its live figures."""

    id: str
    waiting: int
    #: since the oldest waiting session first entered the queue
    longest_wait_ms: int
    #: member agents that are available with a socket open (free slot or not)
    agents_available: int


class QueueList(msgspec.Struct, forbid_unknown_fields=True):
    """Every queue, by id."""

    queues: list[QueueView]


class WrapUpCodes(msgspec.Struct, forbid_unknown_fields=True):
    """The queue's wrap-up codes and rules, for the desk's wrap-up dialog."""

    queue: QueueRef
    wrap_up_codes: list[WrapUpCode]
    wrap_up_timeout_s: float
    max_dispositions: int
    wrap_up_notes: str
    default_wrap_up_code: str | None


class TargetQueue(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    name: str
    waiting: int


class TargetAgent(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    display_name: str
    role: Role
    state: AgentState
    queues: list[str]
    sessions: int
    capacity: int
    #: what a `transfer` or `conference` to this agent tests: available, connected, a free slot
    free: bool


class TransferTargets(msgspec.Struct, forbid_unknown_fields=True):
    """The desk's transfer and conference pickers: queues by name, agents free first."""

    queues: list[TargetQueue]
    agents: list[TargetAgent]


@requires_admin
async def put_queue(request: Request) -> Response:
    s = services_of(request)
    qid = path_id(request, "queue")
    config = decode_config(await read_body(request), QueueConfig)
    await s.router.put_queue(qid, msgspec.json.encode(config))
    return JSON((await s.router.queue_views([qid]))[0])


def _shown_to(request: Request, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queues as the caller may see them: a read-only API key never sees a webhook bot's
    signing secret, with which it could send the bot requests as if from this server."""
    principal = request.state.principal
    if principal is None or not principal.read_only:
        return views
    shown = []
    for view in views:
        bot = view.get("bot")
        if isinstance(bot, dict) and "secret" in bot:
            view = {**view, "bot": {k: v for k, v in bot.items() if k != "secret"}}
        shown.append(view)
    return shown


@requires_admin
async def list_queues(request: Request) -> Response:
    s = services_of(request)
    return JSON({"queues": _shown_to(request, await s.router.queue_views(await s.directory.queue_ids()))})


@requires_admin
async def get_queue(request: Request) -> Response:
    views = await services_of(request).router.queue_views([path_id(request, "queue")])
    if not views:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
    return JSON(_shown_to(request, views)[0])


@requires_admin
async def delete_queue(request: Request) -> Response:
    await services_of(request).router.delete_queue(path_id(request, "queue"))
    return Response(status_code=204)


@requires_admin_or_agent
async def get_wrap_up_codes(request: Request) -> Response:
    """The queue's wrap-up codes, for the desk's wrap-up dialog: the admin, or an agent
    that is a member of the queue or holds a session of it (a warm transfer can hand an
    agent a session of a queue it is not a member of)."""
    s = services_of(request)
    qid = path_id(request, "queue")
    aid = request.state.agent
    if aid is not None:
        profile = await s.directory.agent_profile(aid) or {}
        if qid not in (profile.get("queues") or []) and qid not in await s.directory.held_queues(aid):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
    config = await s.directory.queue_config(qid)
    if config is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
    return JSON(
        WrapUpCodes(
            QueueRef(id=qid, name=config.name),
            config.wrap_up_codes,
            config.wrap_up_timeout_s,
            config.max_dispositions,
            config.wrap_up_notes,
            config.default_wrap_up_code,
        )
    )


@requires_admin_or_agent
async def get_transfer_targets(request: Request) -> Response:
    """The desk's transfer and conference pickers: queues, and the other agents with
    whether each can take a conversation now. For the admin every agent is listed."""
    return JSON(await services_of(request).router.transfer_targets(request.state.agent or ""))


routes = [
    ApiRoute("/api/v1/queues", list_queues, "GET", Operation("List the queues", {200: QueueList})),
    ApiRoute(
        "/api/v1/queues/{id}",
        put_queue,
        "PUT",
        Operation("Create or replace a queue", {200: QueueView}, request=QueueConfig, errors={400: "a bad id or body"}),
    ),
    ApiRoute(
        "/api/v1/queues/{id}",
        get_queue,
        "GET",
        Operation("Read a queue", {200: QueueView}, errors={400: "a bad id", 404: "no such queue"}),
    ),
    ApiRoute(
        "/api/v1/queues/{id}",
        delete_queue,
        "DELETE",
        Operation(
            "Delete a queue",
            {204: None},
            errors={
                400: "a bad id",
                404: "no such queue",
                409: "sessions are waiting in the queue, or agents are still its members",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/queues/{id}/wrap-up-codes",
        get_wrap_up_codes,
        "GET",
        Operation(
            "Read a queue's wrap-up codes",
            {200: WrapUpCodes},
            errors={
                400: "a bad id",
                403: "an agent that is not a member of the queue and holds no session of it",
                404: "no such queue",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/transfer-targets",
        get_transfer_targets,
        "GET",
        Operation("List the transfer and conference targets", {200: TransferTargets}),
    ),
]
