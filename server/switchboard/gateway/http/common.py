"""What every HTTP handler shares: the node's services, JSON answers, bodies and ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar, cast

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...domain.config import check_id
from ...domain.errors import HTTP_STATUS, ErrorCode, SwitchboardError

if TYPE_CHECKING:
    from ..services import Services

T = TypeVar("T")
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")  # an id of the `events` stream, e.g. 1700000000000-0
#: each part of an event id is below this: PostgreSQL keeps them as bigints, and Redis
#: refuses a part over 2**64 - 1 (and an exclusive start at the very last id)
STREAM_ID_PART_END = 2**63
MAX_BODY = 256 * 1024


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


class ErrorDetail(msgspec.Struct, forbid_unknown_fields=True):
    code: ErrorCode
    message: str


class ErrorBody(msgspec.Struct, forbid_unknown_fields=True):
    """A refusal: its code says what kind, its message says why."""

    error: ErrorDetail


def error_body(code: ErrorCode, message: str) -> ErrorBody:
    return ErrorBody(ErrorDetail(code, message))


def error_response(exc: SwitchboardError) -> Response:
    return JSON(error_body(exc.code, exc.message), status_code=HTTP_STATUS[exc.code])


def services_of(request: Request) -> Services:
    return cast("Services", request.app.state.services)


async def read_body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise SwitchboardError(ErrorCode.TOO_LONG, "body too large")
    return body


def found(value: T | None, missing: str) -> T:
    """`value`, unless the store found nothing (None or False): then 404 `missing`."""
    if value is None or value is False:
        raise SwitchboardError(ErrorCode.NOT_FOUND, missing)
    return value


def path_id(request: Request, kind: str) -> str:
    return check_id(kind, request.path_params["id"])


def event_id(raw: str, name: str) -> str:
    """A position in the `events` stream given by a client, checked."""
    if raw and not (STREAM_ID.match(raw) and all(int(part) < STREAM_ID_PART_END for part in raw.split("-"))):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be an event id such as 1700000000000-0")
    return raw
