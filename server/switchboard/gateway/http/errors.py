"""The app-level exception handlers: every refusal answers in the contract's error shape."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from ...domain.errors import ErrorCode, SwitchboardError
from ...record.database import RECORD_ERRORS
from .common import JSON, error_body, error_response


async def domain_error(request: Request, exc: Exception) -> Response:
    """A `SwitchboardError` raised by a guard, a handler or the store."""
    if not isinstance(exc, SwitchboardError):  # registered for this type only
        raise exc
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the contract's error shape too."""
    status = getattr(exc, "status_code", 500)
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST}.get(status, ErrorCode.INTERNAL)
    headers = getattr(exc, "headers", None)
    if status == 405:  # RFC 9110: say which methods the path takes
        headers = {"Allow": _allowed_methods(request)}
    return JSON(error_body(code, str(getattr(exc, "detail", "error"))), status_code=status, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method of the routes at the request's path. Starlette's own `Allow` names only
    those of the first route that matched the path, and the API has one route a method."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def record_error(request: Request, exc: Exception) -> Response:
    """PostgreSQL away (or refusing) while a read needed it: try again later."""
    return error_response(SwitchboardError(ErrorCode.UNAVAILABLE, "the database is not reachable; try again"))


exception_handlers: dict[Any, Any] = {
    SwitchboardError: domain_error,
    HTTPException: http_error,
    **dict.fromkeys(RECORD_ERRORS, record_error),
}
