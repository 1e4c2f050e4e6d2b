"""Canned responses: `/api/v1/canned-responses`; agents read and search them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain import canned
from ...domain.rich import Rich
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin_not_agent, requires_admin_or_agent
from .openapi import ApiRoute, Operation, Param


class CannedView(msgspec.Struct, forbid_unknown_fields=True):
    """A canned response."""

    id: str
    title: str
    text: str
    #: the placeholders in `text`, each once, such as `customer.name`
    placeholders: list[str]
    updated_at: int
    #: the rich message the desk sends with the text (absent: text only)
    rich: Rich | None = None


class CannedList(msgspec.Struct, forbid_unknown_fields=True):
    """The canned responses that match, by title."""

    canned_responses: list[CannedView]


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


NO_SUCH = {400: "a bad id", 404: "no such canned response"}

routes = [
    ApiRoute(
        "/api/v1/canned-responses",
        list_canned,
        "GET",
        Operation(
            "Search the canned responses",
            {200: CannedList},
            params=[
                Param(
                    "q",
                    Annotated[str, msgspec.Meta(max_length=canned.QUERY_LIMIT)],
                    "words that must each appear in the title or the text",
                )
            ],
            errors={400: "q is too long"},
        ),
    ),
    ApiRoute(
        "/api/v1/canned-responses/{id}",
        put_canned,
        "PUT",
        Operation(
            "Create or replace a canned response",
            {200: CannedView, 201: CannedView},
            request=canned.CannedBody,
            errors={400: "a bad id or body", 409: "as many canned responses as may be"},
        ),
    ),
    ApiRoute(
        "/api/v1/canned-responses/{id}",
        get_canned,
        "GET",
        Operation("Read a canned response", {200: CannedView}, errors=NO_SUCH),
    ),
    ApiRoute(
        "/api/v1/canned-responses/{id}",
        delete_canned,
        "DELETE",
        Operation("Delete a canned response", {204: None}, errors=NO_SUCH),
    ),
]
