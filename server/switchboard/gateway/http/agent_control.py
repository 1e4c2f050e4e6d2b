"""A supervisor acting on the agents of its queues (and an admin on any agent):
`POST /api/v1/agents/{id}/state` takes an agent out of routing (`not_ready` or
`offline`, which its desk sees at once as `agent.state`), and
`POST /api/v1/agents/{id}/sign-out` sets it `offline`, ends its sign-in sessions
and revokes its tokens, so its sockets close with 4401 on every node. Both are
in the audit trail (audited.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import AgentStateNow, ForcedState, supervises
from ...domain.config import decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.states import AgentState
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin_or_agent
from .openapi import ApiRoute, Operation


async def _agent_in_reach(request: Request) -> str:
    """The agent of the path, if the caller may act on it: 404 unknown, 403 not one of a supervisor's agents."""
    s = services_of(request)
    aid = path_id(request, "agent")
    agent = found(await s.directory.agent_profile(aid), "no such agent")
    caller = request.state.agent
    if caller is not None and not supervises(await s.directory.agent_profile(caller) or {}, agent):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only the supervisors of its queues act on this agent")
    return aid


@requires_admin_or_agent
async def force_state(request: Request) -> Response:
    aid = await _agent_in_reach(request)
    body = decode_config(await read_body(request), ForcedState)
    reason = body.reason or ("" if request.state.agent is None else f"set by {request.state.agent}")
    return JSON(await services_of(request).router.set_state(aid, AgentState(body.state).value, reason))


@requires_admin_or_agent
async def sign_out(request: Request) -> Response:
    s = services_of(request)
    aid = await _agent_in_reach(request)
    await s.router.set_state(aid, AgentState.OFFLINE.value, "signed out")
    await s.accounts.end_sessions(aid)
    await s.router.revoke_tokens(aid)
    return Response(status_code=204)


_NOT_YOURS = "an agent's token or session, or a supervisor's for an agent not in its queues"
routes = [
    ApiRoute(
        "/api/v1/agents/{id}/state",
        force_state,
        "POST",
        Operation(
            "Force an agent out of routing (not_ready or offline)",
            {200: AgentStateNow},
            ForcedState,
            errors={
                400: "a bad id or body (or a reason the deployment does not list)",
                403: _NOT_YOURS,
                404: "no such agent",
            },
            tag="agents",
        ),
    ),
    ApiRoute(
        "/api/v1/agents/{id}/sign-out",
        sign_out,
        "POST",
        Operation(
            "Sign an agent out: offline, its sessions end, its sockets close (4401)",
            {204: None},
            errors={400: "a bad id", 403: _NOT_YOURS, 404: "no such agent"},
            tag="agents",
        ),
    ),
]
