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
from .principals import CSRF_COOKIE, SESSION_COOKIE

#: Who may call a route. The guards of guards.py name theirs (see `ApiRoute`); the
#: handlers that check credentials themselves name theirs in their `Operation`.
Access = Literal[
    "public", "admin", "admin_or_agent", "admin_agents_read", "admin_or_supervisor", "signed_in", "session", "party"
]
GUARD_ACCESS: dict[str, Access] = {"refused": "admin", "allowed": "admin_or_agent", "read_only": "admin_agents_read"}
Requirement = dict[str, list[str]]
_ADMIN: list[Requirement] = [{"adminToken": []}, {"apiKey": []}, {"sessionCookie": ["admin"]}]
_ANYONE: list[Requirement] = [{"adminToken": []}, {"apiKey": []}, {"sessionCookie": []}, {"agentToken": []}]
#: The credentials each access takes, as they read (GET). A change takes only an
#: admin-scoped API key, and a session cookie only with its CSRF token (`security`).
SECURITY: dict[Access, list[Requirement]] = {
    "public": [],
    "admin": _ADMIN,
    "admin_or_agent": _ANYONE,
    "admin_agents_read": _ADMIN,  # an agent's token or session is told 403
    "admin_or_supervisor": [*_ADMIN, {"sessionCookie": ["supervisor"]}, {"agentToken": []}],
    "signed_in": _ANYONE,
    "session": [{"sessionCookie": []}],
    "party": [{"visitorToken": []}, {"agentToken": []}],
}
UNAUTHORIZED: dict[Access, str] = {
    "admin": "no valid admin token, API key or session (an agent's token is refused here too)",
    "admin_or_agent": "no valid admin token, API key, session or agent token",
    "admin_agents_read": "no valid admin token, API key, session or agent token",
    "admin_or_supervisor": "no valid admin token, API key, session or supervisor token",
    "signed_in": "no valid admin token, API key, session or agent token",
    "session": "no valid session cookie",
    "party": "no valid visitor or agent token",
}
_CSRF = "a change with the session cookie without its `X-CSRF-Token` or from another `Origin`"
#: The 403 of the credentials themselves, by access and whether the method changes anything.
FORBIDDEN: dict[tuple[Access, bool], str] = {
    ("admin", False): "an agent's or supervisor's session: the role may not",
    ("admin", True): f"a read-scoped API key, an agent's or supervisor's session, or {_CSRF}",
    ("admin_or_agent", True): f"a read-scoped API key, or {_CSRF}",
    (
        "admin_agents_read",
        True,
    ): f"an agent's token or session (agents may only read), a read-scoped API key, or {_CSRF}",
    ("session", True): f"credentials other than a session cookie, or {_CSRF}",
}


def security(access: Access, method: str) -> list[Requirement]:
    """Who may call a route with `method`: a change needs an admin-scoped key, and the CSRF token with a cookie."""
    if method in ("GET", "HEAD"):
        return SECURITY[access]
    changing: list[Requirement] = []
    for requirement in SECURITY[access]:
        if "apiKey" in requirement:
            requirement = {"apiKey": ["admin"]}
        elif "sessionCookie" in requirement:
            requirement = {**requirement, "csrfToken": []}
        changing.append(requirement)
    return changing


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

    media_type: str | tuple[str, ...]  # several: the same schema for each
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
    request_media_type: str = "application/json"
    #: whether the request may come without a body (then the handler takes defaults)
    request_optional: bool = False
    params: Sequence[Param] = ()
    errors: Mapping[int, str] = field(default_factory=dict)
    #: only for a handler without a guard of guards.py (a guard says it itself)
    access: Access = "public"
    tag: str = ""
    #: other media types the 200 answer comes in (by `Accept`), each a text: media type -> description
    alternatives: Mapping[str, str] = field(default_factory=dict)


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
                    "content": {
                        media_type: {"schema": schemas[answer_refs[status]]}
                        for media_type in (
                            kind.media_type if isinstance(kind.media_type, tuple) else (kind.media_type,)
                        )
                    },
                }
            else:
                doc = (getattr(kind, "__doc__", None) or "").strip().split("\n")[0]
                responses[str(status)] = {
                    "description": doc or HTTPStatus(status).phrase,
                    "content": _json(schemas[answer_refs[status]]),
                }
                if status == 200 and op.alternatives:
                    responses["200"]["description"] += "; " + "; ".join(op.alternatives.values())
                    responses["200"]["content"].update(
                        {media: {"schema": {"type": "string"}} for media in op.alternatives}
                    )
        errors = dict(op.errors)
        if route.access != "public":
            errors.setdefault(401, UNAUTHORIZED[route.access])
        if forbidden := FORBIDDEN.get((route.access, route.method not in ("GET", "HEAD"))):
            errors[403] = f"{errors[403]}; {forbidden}" if 403 in errors else forbidden
        if route.path.startswith("/api/"):
            limited = "too many requests from this address (`Retry-After` says when to retry)"
            errors[429] = f"{limited}; {errors[429]}" if 429 in errors else limited
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
            "security": security(route.access, route.method),
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
            written["requestBody"] = {
                "required": not op.request_optional,
                "content": {op.request_media_type: {"schema": schemas[request_ref]}},
            }
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
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "sbk_<key>",
                    "description": (
                        "`Authorization: Bearer sbk_...`, a key from `POST /api/v1/api-keys`: scope `admin` does "
                        "what the admin token does, scope `read` only reads (GET; a change answers 403). The "
                        "security of a change names the scope it needs (`admin`)."
                    ),
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": (
                        f"The `{SESSION_COOKIE}` cookie `POST /api/v1/auth/login` sets (HttpOnly, SameSite=Lax): "
                        "the signed-in user's role (`admin`, `supervisor`, `agent`) decides, as named where a "
                        "route takes only some roles. A change (any method but GET) also needs `csrfToken` and an "
                        "`Origin` of the deployment itself, else 403."
                    ),
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": (
                        f"With the session cookie, on every change: the session's CSRF token, as the `{CSRF_COOKIE}` "
                        "cookie, `csrf_token` of the sign-in's answer and `GET /api/v1/me` give it (double submit)."
                    ),
                },
                "visitorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "v1.<visitor id>.<signature>",
                    "description": (
                        "`Authorization: Bearer <visitor token>`, the `visitor_token` of `/ws/customer`'s `welcome`: "
                        "only the customer's own upload of a file into its live chat."
                    ),
                },
                "agentToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "a1.<payload>.<signature>",
                    "description": (
                        "`Authorization: Bearer <agent token>` from `POST /api/v1/agents/{id}/token` or, for a "
                        "signed-in desk, `POST /api/v1/auth/socket-token`: the routes an agent may use (the desk's "
                        "reads, its own conversations, invitations into its queues; statistics, transcripts and "
                        "its agents' states for supervisors). The same token opens `/ws/agent`."
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

**Authentication.** `Authorization: Bearer <token>`: the admin token (`SWITCHBOARD_ADMIN_TOKEN`,
the bootstrap key) passes everywhere; so does an API key of scope `admin`, and one of scope `read`
wherever a GET does; an agent's token passes only where an operation lists `agentToken`. People
signed in with `POST /api/v1/auth/login` send the session cookie instead, which passes as their
role may (`sessionCookie` with the role), and on a change also `X-CSRF-Token` (`csrfToken`) from
the deployment's own `Origin`. A visitor's session token (`visitor_token`) is for `/ws/customer`
and for sending a file into its own live chat (`visitorToken`); every other route here refuses it.

**Errors.** Every refusal answers `{"error": {"code", "message"}}`; `info.x-error-codes` maps each
code to its status. Unknown paths answer 404 and wrong methods 405 in the same shape. A read that
needs PostgreSQL while it is away answers 503 `unavailable`; any route may answer 500 `internal`
on a server fault.

**Pagination.** A list that pages takes `limit` and a `cursor` (or `after`): send back the `next`
of the previous page to get the one after it; `next` is null on the last page.

**Limits.** Request bodies are JSON of at most 256 KiB. Each client address gets
`SWITCHBOARD_HTTP_REQUESTS_PER_S` requests per second under `/api/` (429 `rate_limited` beyond).
"""
