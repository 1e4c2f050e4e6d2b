"""Signing in and out: `/api/v1/auth/login`, `/api/v1/auth/logout`, `/api/v1/auth/socket-token`
and `/api/v1/me`.

A wrong email and a wrong password get the same answer in about the same time
(an unknown email is checked against a dummy hash). Failed sign-ins are counted
per account and per client address across all nodes (store/throttle.py): after
a few, each further try must wait longer (429 with Retry-After), up to a bound;
the counts go with their window, so nobody is locked out for good, and a
success clears the account's count.

A user with a second factor (gateway/http/totp.py) also sends the code of its
authenticator app as `totp`: with the right password and no code the answer is
401 `totp_required` (the page then asks for the code), with a wrong or used code
401 `totp_wrong`, which counts as a failed sign-in.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import ADMIN_TOKEN_ACTOR, Caller, LoginBody, Me, Principal, SignedIn, SocketToken, login_wait_s
from ...domain.config import decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.second_factor import matching_step
from ...record.database import RECORD_ERRORS
from ..auth import new_id
from .common import JSON, error_body, read_body, services_of
from .openapi import ApiRoute, Operation
from .principals import (
    address,
    clear_session_cookies,
    csrf_token,
    principal_of,
    refuse_foreign_origin,
    renew_cookies,
    secret_hash,
    set_session_cookies,
)
from .users import user_view

if TYPE_CHECKING:
    from ...record.accounts import SignInSession, User

WRONG = "wrong email or password"


def account_key(email: str) -> str:
    """The throttle's key of an account: the same for every spelling of its email, and no email in Redis."""
    return "account:" + hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:32]


def _throttled(wait_ms: int) -> Response:
    return JSON(
        error_body(ErrorCode.RATE_LIMITED, "too many failed sign-ins; try again later"),
        status_code=429,
        headers={"Retry-After": str(max(1, math.ceil(wait_ms / 1000)))},
    )


async def _failed(request: Request, account: str, client: str) -> None:
    """Counts a failed sign-in against the account and the address, and makes them wait."""
    s = services_of(request)
    settings = s.settings
    throttle = s.login_throttle
    failures = await throttle.failed(account, settings.login_window_s)
    if wait_s := login_wait_s(failures, settings.login_free_failures, settings.login_lockout_s):
        await throttle.make_wait(account, wait_s)
    if await throttle.failed(client, settings.login_window_s) >= settings.login_failures_per_address:
        await throttle.make_wait(client, settings.login_window_s)


async def login(request: Request) -> Response:
    s = services_of(request)
    refuse_foreign_origin(request, required=False)  # no signing a browser in from another site
    body = decode_config(await read_body(request), LoginBody)
    account = account_key(body.email)
    client = "address:" + address(request)
    if wait_ms := await s.login_throttle.wait_ms([account, client]):
        return _throttled(wait_ms)
    user = await s.accounts.user_by_email(body.email.strip())
    usable = user is not None and not user.disabled
    matches = await s.passwords.verify(user.password_hash if user is not None and usable else None, body.password)
    if user is None or not usable or not matches:
        await _failed(request, account, client)
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, WRONG)
    if user.totp_secret is not None:
        if body.totp is None:
            raise SwitchboardError(ErrorCode.TOTP_REQUIRED, "enter the code of your authenticator app")
        step = matching_step(user.totp_secret, body.totp, time.time())
        if step is None or not await s.accounts.use_totp_step(user.id, step):
            await _failed(request, account, client)
            raise SwitchboardError(ErrorCode.TOTP_WRONG, "this authentication code is wrong or was used already")
    await s.login_throttle.clear(account)
    if user.password_hash is not None and s.passwords.needs_rehash(user.password_hash):
        await s.accounts.set_password_hash(user.id, await s.passwords.hash(body.password))
    return await start_session(request, user)


@dataclass(frozen=True, slots=True)
class NewSession:
    answer: SignedIn
    session_id: str
    secret: str  # what the cookie holds

    def set_cookies(self, request: Request, response: Response) -> None:
        set_session_cookies(request, response, self.secret, self.session_id, self.answer.expires_at)


async def new_session(request: Request, user: User, oidc_refresh_token: str | None = None) -> NewSession:
    """Signs the user in: a new session (with the provider's refresh token, signed in through
    it), `auth.login` in the audit trail. The caller sets its cookies on its answer."""
    s = services_of(request)
    session_id, secret = new_id("ses"), secrets.token_urlsafe(32)
    expires_at = await s.accounts.create_session(
        session_id,
        secret_hash(secret),
        user.id,
        s.settings.session_ttl_s,
        address(request),
        request.headers.get("user-agent", ""),
        oidc_refresh_token,
    )
    await s.audit_trail.record(f"user:{user.id}", "auth.login", user.id, address(request), None, None)
    answer = SignedIn(user=await user_view(s, user), csrf_token=csrf_token(s, session_id), expires_at=expires_at)
    return NewSession(answer, session_id, secret)


async def start_session(request: Request, user: User) -> Response:
    """Signs the user in and answers `SignedIn` with the session's cookies."""
    session = await new_session(request, user)
    response = JSON(session.answer)
    session.set_cookies(request, response)
    return response


async def _signed_in(request: Request) -> Principal:
    principal = await principal_of(request)
    if principal is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "sign in first")
    return principal


async def logout(request: Request) -> Response:
    """Ends the session of the cookie (with its CSRF token); 204, and the cookies go. An
    agent's or supervisor's sockets close with 4401 on every node (its desks in other
    sessions take a fresh socket token)."""
    s = services_of(request)
    principal = await _signed_in(request)
    if principal.session_id is None or principal.user_id is None:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only a signed-in session signs out; tokens and keys expire")
    await s.accounts.end_session(principal.session_id)
    if principal.agent is not None and await s.directory.token_version(principal.agent) is not None:
        await s.router.revoke_tokens(principal.agent)
    try:
        await s.audit_trail.record(principal.actor, "auth.logout", principal.user_id, address(request), None, None)
    except RECORD_ERRORS:
        pass  # the session has ended, which is what matters
    response = Response(status_code=204)
    clear_session_cookies(request, response)
    return response


async def socket_token(request: Request) -> Response:
    """A short-lived agent token for the desk's socket of a signed-in agent or supervisor,
    good until the session's end at the latest (and, signed in through the provider, for
    SWITCHBOARD_OIDC_CHECK_S at most)."""
    s = services_of(request)
    principal = await _signed_in(request)
    if principal.caller is not Caller.SESSION:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "socket tokens are for signed-in sessions")
    if principal.agent is None:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only agents and supervisors open the desk's socket")
    version = await s.directory.token_version(principal.agent)
    if version is None:
        raise SwitchboardError(ErrorCode.CONFLICT, "this user has no agent profile yet (PUT /api/v1/agents/{id})")
    # Never past the session's end: a socket of a session that expires closes with it (4401, "token expired").
    session: SignInSession = request.state.session
    ttl_s = s.settings.socket_token_ttl_s
    if session.single_sign_on:
        # Such a session is checked at the provider as it is renewed: its desk comes for a token (and
        # renews it) once the next check is due, so that the provider's refusal reaches the desk.
        ttl_s = min(ttl_s, s.settings.oidc_check_s + 1)
    expires_at = int(min(time.time() + ttl_s, session.expires_at / 1000))
    token = s.signer.agent_token(principal.agent, version, expires_at)
    response = JSON(SocketToken(token=token, expires_at=expires_at * 1000, agent_id=principal.agent))
    renew_cookies(request, response)  # an open desk asks for one each hour: its cookies last the shift
    return response


async def me(request: Request) -> Response:
    """Who the credentials are: a signed-in user, an agent token, an API key or the admin token."""
    s = services_of(request)
    principal = await _signed_in(request)
    if principal.caller is Caller.ADMIN_TOKEN:
        return JSON(Me(kind="admin_token", id=ADMIN_TOKEN_ACTOR, name="Admin token", role="admin", queues=[]))
    if principal.caller is Caller.API_KEY:
        key = await s.accounts.key(principal.actor.removeprefix("key:"))
        if key is None:
            raise SwitchboardError(ErrorCode.UNAUTHORIZED, "sign in first")
        return JSON(Me(kind="api_key", id=key.id, name=key.name, role=key.scope.value, queues=[], scope=key.scope))
    user = await s.accounts.user(principal.user_id or principal.agent or "")
    if principal.caller is Caller.SESSION and user is not None:
        view = await user_view(s, user)
        response = JSON(
            Me(
                kind="user",
                id=view.id,
                name=view.name,
                role=view.role.value,
                queues=view.queues,
                email=view.email,
                agent_id=view.agent_id,
                csrf_token=csrf_token(s, principal.session_id or ""),
            )
        )
        renew_cookies(request, response)
        return response
    aid = principal.agent or ""
    profile = await s.directory.agent_profile(aid) or {}
    return JSON(
        Me(
            kind="agent",
            id=aid,
            name=str(profile.get("display_name") or aid),
            role=str(profile.get("role") or "agent"),
            queues=list(profile.get("queues") or []),
            email=None if user is None else user.email,
            agent_id=aid,
        )
    )


routes = [
    ApiRoute(
        "/api/v1/auth/login",
        login,
        "POST",
        Operation(
            "Sign in",
            {200: SignedIn},
            LoginBody,
            errors={
                400: "a bad body",
                401: "wrong email or password (or a disabled user); `totp_required`: the right password of a user "
                "with a second factor, without `totp`; `totp_wrong`: a wrong or used code",
                403: "an `Origin` other than the deployment's own",
                429: "too many failed sign-ins to this account or from this address",
            },
            tag="auth",
        ),
    ),
    ApiRoute(
        "/api/v1/auth/logout",
        logout,
        "POST",
        Operation("Sign out (the session of the cookie)", {204: None}, access="session", tag="auth"),
    ),
    ApiRoute(
        "/api/v1/auth/socket-token",
        socket_token,
        "POST",
        Operation(
            "Get a short-lived agent token for the desk's socket",
            {200: SocketToken},
            errors={
                403: "the session of an admin (no desk)",
                409: "the user has no agent profile (`PUT /api/v1/agents/{id}`)",
            },
            access="session",
            tag="auth",
        ),
    ),
    ApiRoute("/api/v1/me", me, "GET", Operation("Who the credentials are", {200: Me}, access="signed_in", tag="auth")),
]
