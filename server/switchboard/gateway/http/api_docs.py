"""Machine-readable descriptions of the interfaces: `/api/v1/asyncapi.json` for the sockets.

Public, like the documentation it is: it holds no secret and says nothing a
client does not learn from the protocol document.
"""

from __future__ import annotations

from functools import cache
from importlib import metadata
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain.frames import asyncapi
from .common import JSON


@cache
def _asyncapi() -> dict[str, Any]:
    try:
        version = metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        version = "0"
    return asyncapi.document(version)


async def asyncapi_document(request: Request) -> Response:
    return JSON(_asyncapi())


routes = [Route("/api/v1/asyncapi.json", asyncapi_document)]
