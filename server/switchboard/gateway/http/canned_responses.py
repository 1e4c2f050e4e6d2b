"""Canned responses: `/api/v1/canned-responses`; agents read and search them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import canned
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin_not_agent, requires_admin_or_agent


@requires_admin_not_agent
async def put_canned(request: Request) -> Response:
    rid = path_id(request, "canned response")
    body = canned.decode_body(await read_body(request))
    view, created = await services_of(request).canned.put(rid, body)
    return JSON(view, status_code=201 if created else 200)


@requires_admin_or_agent
async def list_canned(request: Request) -> Response:
    words = canned.query_words(request.query_params.get("q", ""))
    return JSON({"canned_responses": await services_of(request).canned.search(words)})


@requires_admin_or_agent
async def get_canned(request: Request) -> Response:
    view = await services_of(request).canned.get(path_id(request, "canned response"))
    return JSON(found(view, "no such canned response"))


@requires_admin_not_agent
async def delete_canned(request: Request) -> Response:
    found(await services_of(request).canned.delete(path_id(request, "canned response")), "no such canned response")
    return Response(status_code=204)


routes = [
    Route("/api/v1/canned-responses", list_canned),
    Route("/api/v1/canned-responses/{id}", put_canned, methods=["PUT"]),
    Route("/api/v1/canned-responses/{id}", get_canned, methods=["GET"]),
    Route("/api/v1/canned-responses/{id}", delete_canned, methods=["DELETE"]),
]
