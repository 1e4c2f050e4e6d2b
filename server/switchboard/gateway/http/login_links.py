"""One-time sign-in links: `POST /api/v1/auth/login-link` `{token}` signs the link's user in.

`switchboard demo` prints such links (`/login#once=<token>`: in the fragment, so the
token never reaches a server's or proxy's log); the /login page sends the token here.
A link works once, for a short time (store/login_links.py); a used, expired or unknown
one, or one of a user since disabled, gets the same 401. A user with a second factor
signs in with its password and code instead: a link would skip the code (401).
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import SignedIn
from ...domain.config import decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...store.login_links import MAX_TOKEN_LENGTH
from .auth import start_session
from .common import read_body, services_of
from .openapi import ApiRoute, Operation
from .principals import refuse_foreign_origin


class LoginLinkBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TOKEN_LENGTH)]


async def sign_in_with_link(request: Request) -> Response:
    s = services_of(request)
    refuse_foreign_origin(request, required=False)  # as for /auth/login: no signing a browser in from another site
    body = decode_config(await read_body(request), LoginLinkBody)
    user_id = await s.login_links.consume(body.token)
    user = None if user_id is None else await s.accounts.user(user_id)
    if user is None or user.disabled or user.totp_secret is not None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "this sign-in link is used, expired or unknown")
    return await start_session(request, user)


routes = [
    ApiRoute(
        "/api/v1/auth/login-link",
        sign_in_with_link,
        "POST",
        Operation(
            "Sign in with a one-time link",
            {200: SignedIn},
            LoginLinkBody,
            errors={
                400: "a bad body",
                401: "the link is used, expired or unknown, or its user is disabled",
                403: "an `Origin` other than the deployment's own",
            },
            tag="auth",
        ),
    )
]
