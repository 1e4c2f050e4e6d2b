"""Agents: `/api/v1/agents`, their profiles and their tokens."""

from __future__ import annotations

import time

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from ...domain.config import AgentConfig, decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.states import AgentState
from .common import JSON, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation


class AgentView(AgentConfig, kw_only=True):
    """An agent: its profile and its live state."""

    id: str
    state: AgentState
    #: when it entered its state, in ms since the epoch
    since: int
    #: whether it has a socket open
    connected: bool
    #: the reason given with its state, if any
    reason: str | UnsetType = UNSET


class AgentList(msgspec.Struct, forbid_unknown_fields=True):
    """Every agent, by id."""

    agents: list[AgentView]


class AgentToken(msgspec.Struct, forbid_unknown_fields=True):
    """A token for the agent socket and the routes an agent may call."""

    token: str
    #: in ms since the epoch
    expires_at: int


@requires_admin
async def put_agent(request: Request) -> Response:
    s = services_of(request)
    aid = path_id(request, "agent")
    config = decode_config(await read_body(request), AgentConfig)
    known = set(await s.directory.queue_ids())
    unknown = [q for q in config.queues if q not in known]
    if unknown:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"unknown queue: {', '.join(unknown)}")
    created = await s.router.put_agent(aid, msgspec.json.encode(config))
    return JSON((await s.directory.agents([aid]))[0], status_code=201 if created else 200)


@requires_admin
async def list_agents(request: Request) -> Response:
    s = services_of(request)
    return JSON({"agents": await s.directory.agents(await s.directory.agent_ids())})


@requires_admin
async def get_agent(request: Request) -> Response:
    views = await services_of(request).directory.agents([path_id(request, "agent")])
    if not views:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such agent")
    return JSON(views[0])


@requires_admin
async def delete_agent(request: Request) -> Response:
    await services_of(request).router.delete_agent(path_id(request, "agent"))
    return Response(status_code=204)


@requires_admin
async def issue_agent_token(request: Request) -> Response:
    s = services_of(request)
    aid = path_id(request, "agent")
    version = await s.directory.token_version(aid)
    if version is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such agent")
    expires_at = int(time.time() + s.settings.agent_token_ttl_s)
    return JSON(AgentToken(s.signer.agent_token(aid, version, expires_at), expires_at * 1000))


@requires_admin
async def revoke_agent_tokens(request: Request) -> Response:
    """Every token issued for the agent so far stops working, and its open sockets
    (on every node) close with 4401; a new token can be issued at once."""
    await services_of(request).router.revoke_tokens(path_id(request, "agent"))
    return Response(status_code=204)


NO_SUCH_AGENT = {400: "a bad id", 404: "no such agent"}

routes = [
    ApiRoute("/api/v1/agents", list_agents, "GET", Operation("List the agents", {200: AgentList})),
    ApiRoute(
        "/api/v1/agents/{id}",
        put_agent,
        "PUT",
        Operation(
            "Create or replace an agent",
            {200: AgentView, 201: AgentView},
            request=AgentConfig,
            errors={400: "a bad id or body, or a queue that does not exist"},
        ),
    ),
    ApiRoute(
        "/api/v1/agents/{id}", get_agent, "GET", Operation("Read an agent", {200: AgentView}, errors=NO_SUCH_AGENT)
    ),
    ApiRoute(
        "/api/v1/agents/{id}",
        delete_agent,
        "DELETE",
        Operation(
            "Delete an agent",
            {204: None},
            errors={**NO_SUCH_AGENT, 409: "the agent still holds sessions or offers"},
        ),
    ),
    ApiRoute(
        "/api/v1/agents/{id}/token",
        issue_agent_token,
        "POST",
        Operation("Issue a token for an agent", {200: AgentToken}, errors=NO_SUCH_AGENT),
    ),
    ApiRoute(
        "/api/v1/agents/{id}/token",
        revoke_agent_tokens,
        "DELETE",
        Operation("Revoke every token of an agent", {204: None}, errors=NO_SUCH_AGENT),
    ),
]
