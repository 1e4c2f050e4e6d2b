"""The audit trail: `GET /api/v1/audit`, newest first, filtered by actor, action and time."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import AuditPage
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.parameters import bounded_int
from .common import JSON, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation, Param

FILTER_LIMIT = 200
PAGE_LIMIT = 500
MAX_CURSOR = 2**63 - 1


def _time(raw: str | None, name: str) -> datetime.datetime | None:
    """An ISO 8601 time; one without an offset is taken as UTC."""
    if not raw:
        return None
    try:
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be an ISO 8601 time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def _text(raw: str | None, name: str) -> str | None:
    if raw and len(raw) > FILTER_LIMIT:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} is longer than {FILTER_LIMIT} characters")
    if raw and "\x00" in raw:  # no entry holds one, and PostgreSQL's text cannot
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must not contain a NUL character")
    return raw or None


@requires_admin
async def list_audit(request: Request) -> Response:
    params = request.query_params
    cursor = bounded_int(params.get("cursor"), "cursor", 0, 0, MAX_CURSOR) or None
    page = await services_of(request).audit_trail.page(
        _text(params.get("actor"), "actor"),
        _text(params.get("action"), "action"),
        _time(params.get("from"), "from"),
        _time(params.get("to"), "to"),
        cursor,
        bounded_int(params.get("limit"), "limit", 100, 1, PAGE_LIMIT),
    )
    return JSON(page)


Filter = Annotated[str, msgspec.Meta(max_length=FILTER_LIMIT)]
Time = Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})]
routes = [
    ApiRoute(
        "/api/v1/audit",
        list_audit,
        "GET",
        Operation(
            "Page through the audit trail, newest first",
            {200: AuditPage},
            params=[
                Param("actor", Filter, "only this actor (`admin-token`, `key:<id>`, `user:<id>`, `agent:<id>`)"),
                Param("action", Filter, "only this action (e.g. `users.create`)"),
                Param("from", Time, "only entries at or after this time (ISO 8601; UTC without an offset)"),
                Param("to", Time, "only entries before this time (ISO 8601)"),
                Param("limit", Annotated[int, msgspec.Meta(ge=1, le=PAGE_LIMIT)], "entries a page (default 100)"),
                Param(
                    "cursor",
                    Annotated[int, msgspec.Meta(ge=0, le=MAX_CURSOR)],
                    "the `next_cursor` of the previous page",
                ),
            ],
            errors={400: "a bad parameter"},
        ),
    ),
]
