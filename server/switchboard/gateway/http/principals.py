"""Who is calling: the credentials of an HTTP request, checked.

A request carries one of: `Authorization: Bearer` with the admin token (the
bootstrap key), an API key (`sbk_...`) or an agent token; or no such header and
the session cookie of a signed-in user. A change (any method but GET and HEAD)
made with the cookie must also send the session's CSRF token as `X-CSRF-Token`
(the page reads it from the `sb_csrf` cookie: double submit) and come from the
deployment's own `Origin`; the cookie is `SameSite=Lax` besides.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import ADMIN_TOKEN_ACTOR, ApiKeyScope, Caller, Principal, UserRole
from ...domain.errors import ErrorCode, SwitchboardError
from ..limits import client_address
from ..privacy import ADMIN
from .common import services_of
from .provider_check import recheck_at_provider

if TYPE_CHECKING:
    from ...record.accounts import SignInSession
    from ..services import Services

SESSION_COOKIE = "sb_session"
CSRF_COOKIE = "sb_csrf"
CSRF_HEADER = "x-csrf-token"
API_KEY_PREFIX = "sbk_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secret_hash(secret: str) -> bytes:
    """What is stored of a session secret or an API key (both 256 random bits)."""
    return hashlib.sha256(secret.encode()).digest()


def csrf_token(services: Services, session_id: str) -> str:
    """The session's CSRF token: derived from its id with the deployment's secret, so nothing more is stored."""
    key = hashlib.sha256(b"switchboard-csrf\0" + (services.settings.secret or "").encode()).digest()
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


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


def own_origin(request: Request) -> str:
    public_url = services_of(request).settings.public_url
    if public_url:
        return public_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def refuse_foreign_origin(request: Request, required: bool) -> None:
    """403 unless the request's `Origin` is the deployment's own (or absent, when not `required`)."""
    origin = request.headers.get("origin")
    if (origin is None and required) or (origin is not None and origin != own_origin(request)):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "this change must come from the deployment's own pages (Origin)")


def _check_csrf(request: Request, session_id: str) -> None:
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(given.encode(), csrf_token(services_of(request), session_id).encode()):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "a change made with the session cookie needs its X-CSRF-Token")
    refuse_foreign_origin(request, required=True)


async def principal_of(request: Request) -> Principal | None:
    """The caller, or None when the request has no valid credentials (401). A cookie
    change without its CSRF token or from another Origin is refused (403). Checked
    once per request; the signed-in session, if any, is in `request.state.session`."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    request.state.session = None
    request.state.principal = principal = await _resolve(request)
    return principal


async def _resolve(request: Request) -> Principal | None:
    services = services_of(request)
    given = request.headers.get("authorization")
    if given:
        if is_admin(services, given):
            return Principal(Caller.ADMIN_TOKEN, ADMIN_TOKEN_ACTOR, admin=True)
        token = given.removeprefix("Bearer ")
        if token != given and token.startswith(API_KEY_PREFIX):
            key = await services.accounts.key_by_hash(secret_hash(token))
            if key is None:
                return None
            # a bot key is for the bot socket only: over HTTP it is no admin
            admin = key.scope is not ApiKeyScope.BOT
            return Principal(Caller.API_KEY, f"key:{key.id}", admin=admin, read_only=key.scope is ApiKeyScope.READ)
        aid = await agent_of(services, given)
        return None if aid is None else Principal(Caller.AGENT_TOKEN, f"agent:{aid}", admin=False, agent=aid)
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    session = await services.accounts.session(
        secret_hash(secret), services.settings.session_ttl_s, services.settings.session_max_s
    )
    if session is None:
        return None
    _check_csrf(request, session.id)
    if session.renewed and not await recheck_at_provider(services, session):
        return None  # the single sign-on provider no longer lets this user in: the session has ended
    request.state.session = session
    user = session.user
    return Principal(
        Caller.SESSION,
        f"user:{user.id}",
        admin=user.role is UserRole.ADMIN,
        agent=user.id if user.role.is_agent else None,
        user_id=user.id,
        session_id=session.id,
    )


def is_https(request: Request) -> bool:
    """Over TLS, or behind a trusted proxy that says so (uvicorn applies its X-Forwarded-Proto)."""
    return request.url.scheme in ("https", "wss")


def set_session_cookies(request: Request, response: Response, secret: str, session_id: str, expires_at_ms: int) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie the page reads, both until the session's end."""
    max_age = max(0, math.ceil(expires_at_ms / 1000 - time.time()))
    secure = is_https(request)
    token = csrf_token(services_of(request), session_id)
    response.set_cookie(SESSION_COOKIE, secret, max_age, path="/", secure=secure, httponly=True, samesite="lax")
    response.set_cookie(CSRF_COOKIE, token, max_age, path="/", secure=secure, httponly=False, samesite="lax")


def clear_session_cookies(request: Request, response: Response) -> None:
    secure = is_https(request)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="lax")


def renew_cookies(request: Request, response: Response) -> None:
    """A session renewed by this request gets its cookies again, with the new end."""
    session: SignInSession | None = getattr(request.state, "session", None)
    secret = request.cookies.get(SESSION_COOKIE)
    if session is not None and session.renewed and secret and response.status_code < 400:
        set_session_cookies(request, response, secret, session.id, session.expires_at)


def address(request: Request) -> str:
    return client_address(request.scope)


def actor(request: Request) -> str:
    """Who the erasure, export and redaction records name (record/privacy.py): the caller;
    the admin token keeps the name these records (and a redaction's `by`) always gave it."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or principal.caller is Caller.ADMIN_TOKEN:
        return ADMIN
    return principal.actor
