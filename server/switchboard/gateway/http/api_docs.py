"""Machine-readable descriptions of the interfaces: `/api/v1/openapi.json` for the HTTP API,
`/api/v1/asyncapi.json` for the sockets.

Public, like the documentation it is: it holds no secret and says nothing a
client does not learn from the protocol document.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import version
from ...domain.frames import asyncapi
from .common import JSON
from .openapi import ApiRoute, Body, Operation, document


@cache
def _asyncapi() -> dict[str, Any]:
    return asyncapi.document(version())


async def asyncapi_document(request: Request) -> Response:
    return JSON(_asyncapi())


async def openapi_document(request: Request) -> Response:
    # Made from the routes the app serves, so a module added to the API is in it by itself;
    # once per app, as its routes do not change.
    made = getattr(request.app.state, "openapi", None)
    if made is None:
        made = request.app.state.openapi = document(request.app.routes, version())
    return JSON(made)


A_DOCUMENT = Body("application/json", dict[str, Any], "the document")

routes = [
    ApiRoute(
        "/api/v1/openapi.json",
        openapi_document,
        "GET",
        Operation("The OpenAPI 3.1 document of this API", {200: A_DOCUMENT}, tag="documents"),
    ),
    ApiRoute(
        "/api/v1/asyncapi.json",
        asyncapi_document,
        "GET",
        Operation("The AsyncAPI 3 document of the sockets", {200: A_DOCUMENT}, tag="documents"),
    ),
]
