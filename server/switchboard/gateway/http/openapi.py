"""The OpenAPI 3.1 document of the HTTP API, generated from the routes themselves.

Every route of the API is an `ApiRoute`: the Starlette route plus the `Operation`
that names the structs its handler decodes and answers with, its parameters and
the refusals it can give. The schemas are made from those structs
(`msgspec.json.schema_components`), and who may call a route is read from the
guard the handler wears, so the document cannot drift from what the server
checks and sends; tests/gateway/test_openapi.py runs Schemathesis against a real
node to hold every answer to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ...domain.config import ID_PATTERN
from ...domain.errors import HTTP_STATUS, ErrorCode
from .common import ErrorBody

#: Who may call a route. The guards of guards.py name theirs (see `access_of`).
Access = Literal["public", "admin", "admin_or_agent", "admin_agents_read", "admin_or_supervisor"]
GUARD_ACCESS: dict[str, Access] = {"refused": "admin", "allowed": "admin_or_agent", "read_only": "admin_agents_read"}
SECURITY: dict[Access, list[dict[str, list[str]]]] = {
    "public": [],
    "admin": [{"adminToken": []}],
    "admin_or_agent": [{"adminToken": []}, {"agentToken": []}],
    "admin_agents_read": [{"adminToken": []}],
    "admin_or_supervisor": [{"adminToken": []}, {"agentToken": []}],
}
UNAUTHORIZED: dict[Access, str] = {
    "admin": "no valid admin token (an agent's token is refused here too)",
    "admin_or_agent": "no valid admin or agent token",
    "admin_agents_read": "no valid admin or agent token",
    "admin_or_supervisor": "no valid admin or supervisor token",
}

#: a path id, as `check_id` takes it
Id = Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern, description="1 to 64 letters, digits, `_`, `.` or `-`")]


def or_empty(pattern: str) -> str:
    """The pattern of a query parameter for which an empty value counts as absent (as a search form sends them)."""
    return f"^({pattern.removeprefix('^').removesuffix('$')})?$"


#: an id in the query; empty: as if absent
QueryId = Annotated[str, msgspec.Meta(pattern=or_empty(ID_PATTERN.pattern), description="an id; empty: as if absent")]


@dataclass(frozen=True)
class Param:
    """A query, path or header parameter; `schema` is a type msgspec describes, bounds included."""

    name: str
    schema: Any
    description: str
    location: Literal["query", "path", "header"] = "query"


@dataclass(frozen=True)
class Body:
    """An answer that is not JSON, or whose JSON no struct describes (a document of its own)."""

    media_type: str
    schema: Any
    description: str


@dataclass(frozen=True)
class Operation:
    """What the document says of one route. `responses` maps a status to the struct of its
    JSON body, a `Body`, or None (no body); `errors` maps each refusal status to when it
    happens (401, 403 of the guard and 429 are added from the route's access)."""

    summary: str
    responses: Mapping[int, Any]
    request: Any = None
    #: whether the request may come without a body (then the handler takes defaults)
    request_optional: bool = False
    params: Sequence[Param] = ()
    errors: Mapping[int, str] = field(default_factory=dict)
    #: only for a handler without a guard of guards.py (a guard says it itself)
    access: Access = "public"
    tag: str = ""


class ApiRoute(Route):
    """A route of the HTTP API, with its description."""

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]], method: str, op: Operation):
        super().__init__(path, endpoint, methods=[method])
        self.method = method
        self.operation = op
        self.access: Access = GUARD_ACCESS.get(getattr(endpoint, "access", ""), op.access)


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


class _Schemas:
    """Collects the types the operations name, then describes them all at once, so
    that each struct becomes one component that every operation refers to."""

    def __init__(self) -> None:
        self._types: list[Any] = []
        self._described: tuple[Any, ...] = ()

    def ref(self, kind: Any) -> int:
        self._types.append(kind)
        return len(self._types) - 1

    def describe(self) -> dict[str, Any]:
        self._described, components = msgspec.json.schema_components(
            self._types, ref_template="#/components/schemas/{name}"
        )
        return components

    def __getitem__(self, index: int) -> Any:
        return self._described[index]


def _path_params(route: ApiRoute) -> list[Param]:
    given = {p.name for p in route.operation.params}
    return [
        Param(name, Id, "the id", location="path")
        for name in route.param_convertors
        if name not in given  # an operation gives the others (e.g. `seq`)
    ]


def _error(description: str, error_schema: Any) -> dict[str, Any]:
    return {"description": description, "content": _json(error_schema)}


def _operation(route: ApiRoute, schemas: _Schemas) -> Callable[[], dict[str, Any]]:
    """Registers the route's types now; the returned function writes its operation
    once `schemas` described them."""
    op = route.operation
    params = [*_path_params(route), *op.params]
    param_refs = [schemas.ref(p.schema) for p in params]
    request_ref = schemas.ref(op.request) if op.request is not None else None
    answer_refs = {
        status: schemas.ref(kind.schema if isinstance(kind, Body) else kind)
        for status, kind in op.responses.items()
        if kind is not None
    }
    error_ref = schemas.ref(ErrorBody)

    def write() -> dict[str, Any]:
        responses: dict[str, Any] = {}
        for status, kind in op.responses.items():
            if kind is None:
                responses[str(status)] = {"description": HTTPStatus(status).phrase}
            elif isinstance(kind, Body):
                responses[str(status)] = {
                    "description": kind.description,
                    "content": {kind.media_type: {"schema": schemas[answer_refs[status]]}},
                }
            else:
                doc = (getattr(kind, "__doc__", None) or "").strip().split("\n")[0]
                responses[str(status)] = {
                    "description": doc or HTTPStatus(status).phrase,
                    "content": _json(schemas[answer_refs[status]]),
                }
        errors = dict(op.errors)
        if route.access != "public":
            errors.setdefault(401, UNAUTHORIZED[route.access])
        if route.access == "admin_agents_read":
            errors.setdefault(403, "an agent's token: agents may only read")
        if route.path.startswith("/api/"):
            errors[429] = "too many requests from this address (`Retry-After` says when to retry)"
        for status, why in sorted(errors.items()):
            responses[str(status)] = _error(why, schemas[error_ref])
        if "429" in responses:
            responses["429"]["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 1}}
            }
        written: dict[str, Any] = {
            "operationId": route.name,
            "summary": op.summary,
            "tags": [op.tag or route.path.removeprefix("/api/v1/").split("/")[0]],
            "security": SECURITY[route.access],
            "responses": dict(sorted(responses.items())),
        }
        doc = (route.endpoint.__doc__ or "").strip()
        if doc:
            written["description"] = " ".join(doc.split())
        if params:
            written["parameters"] = [
                {
                    "name": p.name,
                    "in": p.location,
                    "required": p.location == "path",
                    "description": p.description,
                    "schema": schemas[ref],
                }
                for p, ref in zip(params, param_refs, strict=True)
            ]
        if request_ref is not None:
            written["requestBody"] = {"required": not op.request_optional, "content": _json(schemas[request_ref])}
        return written

    return write


def api_routes(routes: Iterable[BaseRoute]) -> list[ApiRoute]:
    return [route for route in routes if isinstance(route, ApiRoute)]


def document(routes: Iterable[BaseRoute], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every `ApiRoute` in `routes`."""
    schemas = _Schemas()
    writers = [(route, _operation(route, schemas)) for route in api_routes(routes)]
    components = schemas.describe()
    paths: dict[str, dict[str, Any]] = {}
    for route, write in writers:
        paths.setdefault(route.path, {})[route.method.lower()] = write()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard HTTP API",
            "version": version,
            "description": DESCRIPTION,
            "x-error-codes": {code.value: HTTP_STATUS[code] for code in ErrorCode},
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <SWITCHBOARD_ADMIN_TOKEN>`: every route.",
                },
                "agentToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "a1.<payload>.<signature>",
                    "description": (
                        "`Authorization: Bearer <agent token>` from `POST /api/v1/agents/{id}/token`: the routes "
                        "an agent may use (the desk's reads, its own conversations, invitations into its "
                        "queues; statistics for supervisors). The same token opens `/ws/agent`."
                    ),
                },
            },
        },
    }


DESCRIPTION = """\
The HTTP API of a Switchboard node: configuration (queues, agents, canned responses, invitation
rules, webhooks), the system of record (conversations, lifecycle events, visitors, privacy) and
statistics. The sockets (`/ws/customer`, `/ws/agent`) are described by `/api/v1/asyncapi.json`;
what neither document can say (ordering, resume, delivery guarantees) is in docs/protocol.md.

**Authentication.** `Authorization: Bearer <token>`: the admin token (`SWITCHBOARD_ADMIN_TOKEN`)
passes everywhere; an agent's token passes only where an operation lists `agentToken`. A visitor's
session token (`visitor_token`) is for `/ws/customer` only and is refused by every route here.

**Errors.** Every refusal answers `{"error": {"code", "message"}}`; `info.x-error-codes` maps each
code to its status. Unknown paths answer 404 and wrong methods 405 in the same shape. A read that
needs PostgreSQL while it is away answers 503 `unavailable`; any route may answer 500 `internal`
on a server fault.

**Pagination.** A list that pages takes `limit` and a `cursor` (or `after`): send back the `next`
of the previous page to get the one after it; `next` is null on the last page.

**Limits.** Request bodies are JSON of at most 256 KiB. Each client address gets
`SWITCHBOARD_HTTP_REQUESTS_PER_S` requests per second under `/api/` (429 `rate_limited` beyond).
"""
