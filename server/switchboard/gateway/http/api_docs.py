"""Machine-readable descriptions of the interfaces: `/api/v1/openapi.json` for the HTTP API,
`/api/v1/asyncapi.json` for the sockets.

Public, like the documentation it is: it holds no secret and says nothing a
client does not learn from the protocol document.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ...domain.frames import asyncapi
from . import (
    agent_control,
    agents,
    api_keys,
    audit,
    auth,
    canned_responses,
    conversations,
    events,
    health,
    login_links,
    not_ready_reasons,
    queues,
    stats,
    users,
    visitors,
    webhooks,
)
from .common import JSON
from .openapi import ApiRoute, Body, Operation, document

#: every route the OpenAPI document describes (this module's own included)
DESCRIBED = (
    health,
    queues,
    agents,
    not_ready_reasons,
    conversations,
    events,
    stats,
    canned_responses,
    visitors,
    webhooks,
    auth,
    login_links,
    users,
    agent_control,
    api_keys,
    audit,
)


def _version() -> str:
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        return "0"


@cache
def _asyncapi() -> dict[str, Any]:
    return asyncapi.document(_version())


@cache
def _openapi() -> dict[str, Any]:
    return document([*(route for module in DESCRIBED for route in module.routes), *routes], _version())


async def asyncapi_document(request: Request) -> Response:
    return JSON(_asyncapi())


async def openapi_document(request: Request) -> Response:
    return JSON(_openapi())


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
