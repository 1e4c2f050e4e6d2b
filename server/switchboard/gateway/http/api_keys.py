"""API keys: `/api/v1/api-keys`, the credentials of automation.

A key is shown once, in the answer to its creation, and stored only as its
SHA-256; it is sent as `Authorization: Bearer sbk_...`. Scope `admin` does what
the admin token does, `read` only reads (GET). Revoking is for good; the key of
a user stops working while that user is disabled, and for good when it is deleted.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import ApiKeyList, ApiKeyView, NewApiKey
from ...domain.config import decode_config
from ..auth import new_id
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation
from .principals import API_KEY_PREFIX, principal_of, secret_hash


@requires_admin
async def create_key(request: Request) -> Response:
    s = services_of(request)
    body = decode_config(await read_body(request), NewApiKey)
    principal = await principal_of(request)
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    view = await s.accounts.create_key(
        new_id("key"),
        secret_hash(key),
        body.name,
        body.scope,
        principal.actor if principal else "unknown",
        principal.user_id if principal else None,
    )
    view.key = key
    return JSON(view, status_code=201)


@requires_admin
async def list_keys(request: Request) -> Response:
    return JSON(ApiKeyList(await services_of(request).accounts.keys()))


@requires_admin
async def revoke_key(request: Request) -> Response:
    found(await services_of(request).accounts.revoke_key(path_id(request, "API key")), "no such API key")
    return Response(status_code=204)


routes = [
    ApiRoute("/api/v1/api-keys", list_keys, "GET", Operation("List the API keys", {200: ApiKeyList})),
    ApiRoute(
        "/api/v1/api-keys",
        create_key,
        "POST",
        Operation(
            "Create an API key (its `key` is in this answer only)",
            {201: ApiKeyView},
            NewApiKey,
            errors={400: "a bad body"},
        ),
    ),
    ApiRoute(
        "/api/v1/api-keys/{id}",
        revoke_key,
        "DELETE",
        Operation("Revoke an API key", {204: None}, errors={400: "a bad id", 404: "no such API key"}),
    ),
]
