"""Who may call a handler: the admin token, an agent's token, or either.

Shaped like Starlette's `requires`: a decorator that keeps the handler's name
and refuses before the handler runs. The handler finds the agent it was called
by in `request.state.agent` (None for the admin).
"""

from __future__ import annotations

import functools
import hmac
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

from starlette.requests import Request
from starlette.responses import Response

from ...domain.errors import ErrorCode, SwitchboardError
from .common import services_of

if TYPE_CHECKING:
    from ..services import Services

Handler = Callable[[Request], Awaitable[Response]]
# What an agent's valid token gets: refused like any bad token (401), told that it
# may not (403: agents may read this resource but not change it), or let through.
AgentAccess = Literal["refused", "read_only", "allowed"]


def is_admin(services: Services, authorization: str) -> bool:
    expected = services.settings.admin_token or ""
    return bool(expected) and hmac.compare_digest(authorization.encode(), f"Bearer {expected}".encode())


async def agent_of(services: Services, authorization: str) -> str | None:
    """The agent of a valid agent token, checked as the agent socket checks it at `hello`:
    signed, unexpired, and of the agent's current token version (deleting the agent revokes it)."""
    token = authorization.removeprefix("Bearer ")
    if token == authorization or not token.isascii():  # non-ASCII cannot be ours
        return None
    verified = services.signer.verify_agent(token, time.time())
    if verified is None:
        return None
    aid, version = verified
    return aid if await services.directory.token_version(aid) == version else None


def requires(agents: AgentAccess) -> Callable[[Handler], Handler]:
    """The admin token always passes; an agent's token as `agents` says."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            services = services_of(request)
            given = request.headers.get("authorization", "")
            request.state.agent = None
            if not is_admin(services, given):
                request.state.agent = None if agents == "refused" else await agent_of(services, given)
                if request.state.agent is None:
                    wanted = "admin or agent token" if agents == "allowed" else "admin token"
                    raise SwitchboardError(ErrorCode.UNAUTHORIZED, f"a valid {wanted} is required")
                if agents == "read_only":
                    raise SwitchboardError(ErrorCode.FORBIDDEN, "this needs the admin token; agents may only read")
            return await handler(request)

        guarded.access = agents  # type: ignore[attr-defined]  # read by openapi.ApiRoute
        return guarded

    return decorate


requires_admin = requires("refused")
requires_admin_or_agent = requires("allowed")
# Changes to what agents may read: an agent's token is told 403, not 401.
requires_admin_not_agent = requires("read_only")
