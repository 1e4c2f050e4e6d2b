"""Invitations and password resets: an admin sends a user a link to choose its password.

`POST /api/v1/users/{id}/invitation` and `POST /api/v1/users/{id}/password-reset`
(admin) make a one-time link, `/password#token=<token>` on the deployment's public
address (the token in the fragment, so it never reaches a server's or proxy's log),
and email it through `SWITCHBOARD_SMTP_URL`. The answer always carries the link,
with `emailed` saying whether the mail server took it: without one, or with one
that is down, the admin passes the link on. The /password page sends the token and
the chosen password to `POST /api/v1/auth/password`, which sets it, ends the user's
other sessions and signs it in. The audit trail records who sent which link to
whom, and that the password was set; never the token.
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlsplit

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import Password, SignedIn
from ...domain.config import decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...store.login_links import MAX_TOKEN_LENGTH
from ...store.password_links import LinkPurpose
from ..outbound_mail import Mail
from .auth import start_session
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation
from .principals import address, own_origin, refuse_foreign_origin

PASSWORD_PAGE = "/password"
USED = "this link is used, expired or unknown, or its user is disabled"


class PasswordLinkSent(msgspec.Struct, kw_only=True):
    """The link that lets the user choose its password, and whether it went out by email."""

    link: str  # works once, until `expires_at`; pass it on when `emailed` is false
    emailed: bool
    email: str  # where it went, or would have gone
    expires_at: int  # ms since the epoch
    problem: str | None = None  # why it was not emailed


class NewPassword(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """POST /api/v1/auth/password: the token of the link and the password chosen."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TOKEN_LENGTH)]
    password: Password


SUBJECTS = {
    LinkPurpose.INVITATION: "You are invited to Switchboard",
    LinkPurpose.RESET: "Choose a new Switchboard password",
}
OPENINGS = {
    LinkPurpose.INVITATION: "An administrator has made you a Switchboard account ({role}). To start, choose your "
    "password:",
    LinkPurpose.RESET: "An administrator has asked for your Switchboard password to be reset. Choose a new one:",
}


def _mail_text(name: str, role: str, purpose: LinkPurpose, base: str, link: str, expires_at_s: float) -> str:
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at_s))
    return (
        f"Hello {name},\n\n"
        f"{OPENINGS[purpose].format(role=role)}\n\n"
        f"{link}\n\n"
        f"The link works once, until {until}. Afterwards, sign in at {base}/login with your email and that password.\n\n"
        "If you did not expect this email, you can ignore it.\n"
    )


async def _send_link(request: Request, purpose: LinkPurpose) -> Response:
    s = services_of(request)
    user = found(await s.accounts.user(path_id(request, "user")), "no such user")
    if user.disabled:
        raise SwitchboardError(ErrorCode.CONFLICT, "this user is disabled: enable it first")
    ttl_s = s.settings.password_link_ttl_s
    token = await s.password_links.create(user.id, purpose, ttl_s)
    expires_at_s = time.time() + ttl_s
    base = own_origin(request)
    link = f"{base}{PASSWORD_PAGE}#token={token}"
    text = _mail_text(user.name, user.role.value, purpose, base, link, expires_at_s)
    mail = Mail(user.name, user.email, SUBJECTS[purpose], text)
    outcome = await s.mailer.send(mail, urlsplit(base).hostname or "")
    answer = PasswordLinkSent(
        link=link, emailed=outcome.sent, email=user.email, expires_at=int(expires_at_s * 1000), problem=outcome.problem
    )
    return JSON(answer)


@requires_admin
async def invite_user(request: Request) -> Response:
    """Emails the user a link to choose its first password (and answers with it)."""
    return await _send_link(request, LinkPurpose.INVITATION)


@requires_admin
async def reset_password(request: Request) -> Response:
    """Emails the user a link to choose a new password (and answers with it); the old one works until then."""
    return await _send_link(request, LinkPurpose.RESET)


async def set_password(request: Request) -> Response:
    """Sets the password of a link's user, ends its other sessions and signs it in."""
    s = services_of(request)
    refuse_foreign_origin(request, required=False)  # as for /auth/login: no signing a browser in from another site
    body = decode_config(await read_body(request), NewPassword)
    consumed = await s.password_links.consume(body.token)
    user = None if consumed is None else await s.accounts.user(consumed[0])
    if consumed is None or user is None or user.disabled:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, USED)
    await s.accounts.set_password_hash(user.id, await s.passwords.hash(body.password))
    await s.accounts.end_sessions(user.id)  # whoever knew the old password is signed out
    await s.audit_trail.record(
        f"user:{user.id}", "users.password.set", user.id, address(request), None, {"purpose": consumed[1].value}
    )
    return await start_session(request, found(await s.accounts.user(user.id), USED))


_SENT = {400: "a bad id", 404: "no such user", 409: "the user is disabled"}
routes = [
    ApiRoute(
        "/api/v1/users/{id}/invitation",
        invite_user,
        "POST",
        Operation("Invite a user: a link to choose its password, emailed", {200: PasswordLinkSent}, errors=_SENT),
    ),
    ApiRoute(
        "/api/v1/users/{id}/password-reset",
        reset_password,
        "POST",
        Operation(
            "Reset a user's password: a link to choose a new one, emailed", {200: PasswordLinkSent}, errors=_SENT
        ),
    ),
    ApiRoute(
        "/api/v1/auth/password",
        set_password,
        "POST",
        Operation(
            "Choose a password with an invitation's or reset's link, and sign in",
            {200: SignedIn},
            NewPassword,
            errors={
                400: "a bad body (a password of fewer than 10 characters)",
                401: USED,
                403: "an `Origin` other than the deployment's own",
            },
            tag="auth",
        ),
    ),
]
