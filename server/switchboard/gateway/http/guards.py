"""Who may call a handler: the admin (token, API key or session), an agent (token or session), or either.

Shaped like Starlette's `requires`: a decorator that keeps the handler's name
and refuses before the handler runs. The handler finds the agent it was called
by in `request.state.agent` (None for the admin), and who called in `request.state.principal`
(gateway/http/principals.py). A change that succeeds is written to the audit trail (audited.py).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import Caller
from ...domain.errors import ErrorCode, SwitchboardError
from .audited import audited
from .principals import SAFE_METHODS, agent_of, is_admin, principal_of, renew_cookies

Handler = Callable[[Request], Awaitable[Response]]
# What an agent's valid token gets: refused like any bad token (401), told that it
# may not (403: agents may read this resource but not change it), or let through.
AgentAccess = Literal["refused", "read_only", "allowed"]


def requires(agents: AgentAccess) -> Callable[[Handler], Handler]:
    """The admin token, an admin-scoped API key and an admin's session always pass (a
    read-scoped key for reads only); an agent's token or session as `agents` says."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            principal = await principal_of(request)
            request.state.agent = None
            if principal is None:
                wanted = "admin or agent token" if agents == "allowed" else "admin token"
                raise SwitchboardError(ErrorCode.UNAUTHORIZED, f"a valid {wanted} is required")
            if principal.read_only and request.method not in SAFE_METHODS:
                raise SwitchboardError(ErrorCode.FORBIDDEN, "this API key may only read")
            if not principal.admin:
                if agents == "refused" or principal.agent is None:
                    if principal.caller is not Caller.SESSION:  # a token of the wrong kind, as before
                        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a valid admin token is required")
                    raise SwitchboardError(ErrorCode.FORBIDDEN, "your role may not do this")
                if agents == "read_only":
                    raise SwitchboardError(ErrorCode.FORBIDDEN, "this needs the admin token; agents may only read")
                request.state.agent = principal.agent
            response = await audited(request, handler)
            renew_cookies(request, response)
            return response

        guarded.access = agents  # type: ignore[attr-defined]  # read by openapi.ApiRoute
        return guarded

    return decorate


requires_admin = requires("refused")
requires_admin_or_agent = requires("allowed")
# Changes to what agents may read: an agent's token is told 403, not 401.
requires_admin_not_agent = requires("read_only")

# agent_of and is_admin lived here before principals.py; whoever checks credentials by hand may still import them here
__all__ = ["agent_of", "is_admin", "requires", "requires_admin", "requires_admin_not_agent", "requires_admin_or_agent"]
