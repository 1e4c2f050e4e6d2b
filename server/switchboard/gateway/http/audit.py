"""The audit trail: `GET /api/v1/audit`, newest first, filtered by actor, action and time."""

from __future__ import annotations

import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.parameters import bounded_int
from .common import JSON, services_of
from .guards import requires_admin

FILTER_LIMIT = 200


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
    return raw or None


@requires_admin
async def list_audit(request: Request) -> Response:
    params = request.query_params
    cursor = bounded_int(params.get("cursor"), "cursor", 0, 0, 2**63 - 1) or None
    page = await services_of(request).audit_trail.page(
        _text(params.get("actor"), "actor"),
        _text(params.get("action"), "action"),
        _time(params.get("from"), "from"),
        _time(params.get("to"), "to"),
        cursor,
        bounded_int(params.get("limit"), "limit", 100, 1, 500),
    )
    return JSON(page)


routes = [Route("/api/v1/audit", list_audit, methods=["GET"])]
