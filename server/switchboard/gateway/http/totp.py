"""The second factor: `/api/v1/me/totp` (enrol), `/api/v1/me/totp/confirm`, and an admin's
`DELETE /api/v1/users/{id}/totp` (reset).

A signed-in user enrols in two steps: the first answers a new secret (and the
`otpauth://` URI an authenticator app reads from a QR code), once; the second
takes a code the app shows for it, and only then does sign-in require codes. A
user who loses the phone asks an admin, who removes the second factor: that ends
the user's sessions and closes its sockets (with 4401, on every node).

One-time sign-in links do not sign in a user with a second factor (login_links.py):
such a user signs in with the password and the code. The provider of single
sign-on asks for its own second factor, if any: its users are not asked here.
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import Caller, Principal, UserView
from ...domain.config import decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.second_factor import TotpConfirmation, TotpEnrolment, enrolment, matching_step, new_secret
from ...record.accounts import User
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation
from .principals import principal_of
from .users import revoke_sockets, user_view


async def _signed_in_user(request: Request) -> tuple[Principal, User]:
    principal = await principal_of(request)
    if principal is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "sign in first")
    if principal.caller is not Caller.SESSION or principal.user_id is None:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "a second factor is enrolled by a signed-in user")
    user = await services_of(request).accounts.user(principal.user_id)
    if user is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "sign in first")
    return principal, user


async def enrol_totp(request: Request) -> Response:
    s = services_of(request)
    _, user = await _signed_in_user(request)
    if user.totp_secret is not None:
        raise SwitchboardError(ErrorCode.CONFLICT, "a second factor is set already; an admin can reset it")
    secret = new_secret()
    await s.accounts.begin_totp(user.id, secret)
    return JSON(enrolment(secret, user.email))


async def confirm_totp(request: Request) -> Response:
    s = services_of(request)
    _, user = await _signed_in_user(request)
    body = decode_config(await read_body(request), TotpConfirmation)
    if user.totp_pending_secret is None:
        raise SwitchboardError(ErrorCode.CONFLICT, "nothing to confirm: enrol first (POST /api/v1/me/totp)")
    step = matching_step(user.totp_pending_secret, body.code, time.time())
    if step is None:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "this code is not the authenticator app's for the new secret")
    if not await s.accounts.confirm_totp(user.id, user.totp_pending_secret, step):
        raise SwitchboardError(ErrorCode.CONFLICT, "enrolled again meanwhile: confirm the newest secret")
    return JSON(await user_view(s, found(await s.accounts.user(user.id), "no such user")))


@requires_admin
async def reset_totp(request: Request) -> Response:
    s = services_of(request)
    uid = path_id(request, "user")
    found(await s.accounts.reset_totp(uid), "no such user")
    await revoke_sockets(s, uid)  # its sockets close, as when its sessions end
    return Response(status_code=204)


routes = [
    ApiRoute(
        "/api/v1/me/totp",
        enrol_totp,
        "POST",
        Operation(
            "Enrol a second factor (TOTP): answers its secret, this once; required once confirmed",
            {200: TotpEnrolment},
            errors={409: "a second factor is set already"},
            access="session",
            tag="auth",
        ),
    ),
    ApiRoute(
        "/api/v1/me/totp/confirm",
        confirm_totp,
        "POST",
        Operation(
            "Confirm the second factor with a code of the authenticator app; sign-in requires codes from then on",
            {200: UserView},
            TotpConfirmation,
            errors={
                400: "a bad body, or a code that is not the app's",
                409: "nothing to confirm (enrol first), or enrolled again meanwhile",
            },
            access="session",
            tag="auth",
        ),
    ),
    ApiRoute(
        "/api/v1/users/{id}/totp",
        reset_totp,
        "DELETE",
        Operation(
            "Remove a user's second factor (a lost phone): ends its sessions and closes its sockets",
            {204: None},
            errors={400: "a bad id", 404: "no such user"},
        ),
    ),
]
