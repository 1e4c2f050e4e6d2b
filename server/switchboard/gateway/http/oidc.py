"""Single sign-on: `GET /auth/oidc/login` sends the browser to the OpenID Connect provider,
`GET /auth/oidc/callback` brings it back signed in; `GET /api/v1/auth/providers` tells the
sign-in page whether to show its "Sign in with ..." button.

The flow is the authorization code with PKCE: the login route keeps the flow's nonce,
verifier and the page the user came for in Redis under its `state` (store/oidc_flows.py),
and the callback takes them back once. The flow is also bound to the browser that began
it (a short-lived HttpOnly cookie whose hash the flow keeps): a callback URL opened in
another browser signs nobody in, so nobody can be signed in as someone else by a link. The provider's groups give the user its role and
queues (domain/accounts.py `grant_of`): a user is made on its first sign-in and follows
the provider on each later one. The session that begins is the same as after a password
sign-in, with the provider's refresh token kept to ask the provider again at renewals
(http/provider_check.py `recheck_at_provider`, called as a session is renewed).

Both routes answer a browser: a redirect, or a plain page that says what went wrong and
links back to /login (never a stack trace). Only paths of this site are redirected to.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...domain.accounts import ProviderGrant, UserRole, grant_of
from ...domain.errors import ErrorCode, SwitchboardError
from ...record.accounts import User
from ...store.oidc_flows import FLOW_TTL_S, OidcFlow
from ..auth import new_id
from ..oidc import ProviderRefused, ProviderUnreachable
from ..static import PAGE_POLICY
from .auth import new_session
from .common import JSON, services_of
from .openapi import ApiRoute, Operation
from .principals import is_https, own_origin
from .users import revoke_sockets, sync_profile

if TYPE_CHECKING:
    from ..services import Services

log = logging.getLogger(__name__)

LOGIN_PATH = "/auth/oidc/login"
CALLBACK_PATH = "/auth/oidc/callback"
#: Where each role goes when the sign-in did not start from a page (as widget/login.js sends them).
ROLE_HOMES = {UserRole.AGENT: "/desk", UserRole.SUPERVISOR: "/supervisor", UserRole.ADMIN: "/docs/api"}
MAX_NEXT_LENGTH = 512
#: The cookie that binds a flow to the browser that began it, sent back only to the callback.
FLOW_COOKIE = "sb_oidc_flow"
MAX_CODE_LENGTH = 4096


class SingleSignOn(msgspec.Struct, kw_only=True):
    name: str  # the provider's name, for the button
    login_url: str  # where the button goes (add `?next=<path>` to come back to a page)


class SignInProviders(msgspec.Struct, kw_only=True):
    """What the sign-in page offers besides the password: `single_sign_on` is null when it is not set up."""

    single_sign_on: SingleSignOn | None


def safe_next(raw: str | None) -> str | None:
    """`raw` when it is a path of this site (`/desk`, `/supervisor?x=1`), else None: no open
    redirect (`//evil.example`, `/\\evil.example`, `https://evil.example`, control characters)."""
    if not raw or len(raw) > MAX_NEXT_LENGTH or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return None
    if not raw.isascii() or not raw.isprintable():
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path.startswith(("/login", "/auth/")):
        return None
    return raw


def _page(status: int, title: str, text: str) -> HTMLResponse:
    """A plain page for a browser: what went wrong, in words, and the way back to /login."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Switchboard</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
        '<p><a href="/login">Back to the sign-in page</a></p></main></body></html>'
    )
    headers = {"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(body, status_code=status, headers=headers)


def _not_set_up() -> HTMLResponse:
    return _page(404, "Single sign-on is not set up", "Sign in with your email and password.")


def _unreachable(provider_name: str) -> HTMLResponse:
    return _page(
        503, "Sign-in is not possible right now", f"{provider_name} cannot be reached. Try again in a few minutes."
    )


async def providers(request: Request) -> Response:
    settings = services_of(request).settings
    sso = SingleSignOn(name=settings.oidc_name, login_url=LOGIN_PATH) if settings.single_sign_on else None
    return JSON(SignInProviders(single_sign_on=sso))


async def start_login(request: Request) -> Response:
    s = services_of(request)
    if s.oidc is None:
        return _not_set_up()
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
    browser_key = secrets.token_urlsafe(32)
    redirect_uri = own_origin(request) + CALLBACK_PATH
    next_path = safe_next(request.query_params.get("next"))
    flow = OidcFlow(nonce, verifier, next_path, redirect_uri, _hash(browser_key))
    try:
        url = await s.oidc.authorization_url(redirect_uri, state, nonce, verifier)
    except ProviderUnreachable as exc:
        log.warning("single sign-on: the provider did not answer: %s", exc)
        return _unreachable(s.settings.oidc_name)
    await s.oidc_flows.begin(state, flow)
    response = RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        FLOW_COOKIE,
        browser_key,
        FLOW_TTL_S,
        path=CALLBACK_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="lax",  # sent on the provider's redirect back (a top-level navigation)
    )
    return response


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def finish_login(request: Request) -> Response:
    s = services_of(request)
    if s.oidc is None:
        return _not_set_up()
    params = request.query_params
    flow = await s.oidc_flows.finish(params.get("state", ""))
    browser_key = request.cookies.get(FLOW_COOKIE, "")
    if flow is None or not hmac.compare_digest(_hash(browser_key), flow.browser_key_hash):
        return _page(
            400,
            "This sign-in has expired",
            "It was used already, took too long, or did not start in this browser. Sign in again.",
        )
    if "error" in params:  # the provider's refusal (the user cancelled, or may not use this client)
        return _page(401, "The sign-in was refused", f"{s.settings.oidc_name} said: {params['error'][:200]}.")
    code = params.get("code", "")
    if not code or len(code) > MAX_CODE_LENGTH:
        return _page(400, "The sign-in was refused", "The provider sent no code. Sign in again.")
    try:
        signed_in = await s.oidc.sign_in(code, flow.redirect_uri, flow.code_verifier, flow.nonce)
    except ProviderRefused as exc:
        log.warning("single sign-on refused: %s", exc)
        return _page(401, "The sign-in was refused", f"{s.settings.oidc_name} did not confirm who you are.")
    except ProviderUnreachable as exc:
        log.warning("single sign-on: the provider did not answer: %s", exc)
        return _unreachable(s.settings.oidc_name)
    claims = signed_in.claims
    grant = grant_of(claims.get(s.settings.oidc_groups_claim), s.settings.oidc_roles())
    if grant is None:
        return _page(
            403,
            "No access to Switchboard",
            f"Your account at {s.settings.oidc_name} is in no group that gives a role here. Ask your administrator.",
        )
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 254 or "\x00" in email:
        return _page(403, "No access to Switchboard", f"{s.settings.oidc_name} gave no email address for you.")
    try:
        user = await _provider_user(s, claims, email, grant)
    except SwitchboardError as exc:
        if exc.code is not ErrorCode.CONFLICT:
            raise
        log.warning("single sign-on: the user of %s cannot be stored: %s", claims["sub"], exc.message)
        return _page(
            409,
            "No access to Switchboard",
            "Another user of Switchboard has this email address. Ask your administrator.",
        )
    if user.disabled:
        return _page(403, "Your account is disabled", "An administrator of Switchboard disabled your account.")
    session = await new_session(request, user, signed_in.refresh_token)
    response = RedirectResponse(flow.next_path or ROLE_HOMES[user.role], status_code=303)
    session.set_cookies(request, response)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH, secure=is_https(request), httponly=True, samesite="lax")
    return response


async def _provider_user(s: Services, claims: dict[str, object], email: str, grant: ProviderGrant) -> User:
    """The user the provider vouches for, made or brought in step with its claims; its agent profile too."""
    subject = str(claims["sub"])
    before = await s.accounts.user_by_subject(subject)
    known = set(await s.directory.queue_ids())
    name = claims.get("name")
    user = await s.accounts.sign_in_from_provider(
        new_id("u"),
        subject,
        email,
        name[:200] if isinstance(name, str) and name.strip() and "\x00" not in name else email,
        grant.role,
        [q for q in grant.queues if q in known],
        link_by_email=claims.get("email_verified") is True,
    )
    if user.role.is_agent and not user.disabled:
        await sync_profile(s, user, queues_given=True)
    if before is not None and before.role.is_agent and before.role is not user.role:
        await revoke_sockets(s, user.id)  # a new role takes effect on its sockets when they reconnect
    return user


routes = [
    ApiRoute(
        "/api/v1/auth/providers",
        providers,
        "GET",
        Operation("How else one may sign in (the sign-in page's buttons)", {200: SignInProviders}, tag="auth"),
    ),
]
# Pages for a browser, not the API (no OpenAPI description): the app serves them beside the API.
pages = [
    Route(LOGIN_PATH, start_login, methods=["GET"]),
    Route(CALLBACK_PATH, finish_login, methods=["GET"]),
]
