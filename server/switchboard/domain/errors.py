"""Error codes and close codes of the wire contract."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    TOTP_REQUIRED = "totp_required"  # the password was right; the user's second factor's code is needed too
    TOTP_WRONG = "totp_wrong"  # that code is wrong, or was used already
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_LONG = "too_long"
    #: an upload over its queue's `attachments.max_bytes` (HTTP only)
    TOO_LARGE = "too_large"
    #: an upload of a type its queue does not take, or bytes of no type we take (HTTP only)
    UNSUPPORTED_TYPE = "unsupported_type"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class CloseCode(IntEnum):
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    UNAUTHORIZED = 4401
    ORIGIN_FORBIDDEN = 4403


class SwitchboardError(Exception):
    """A refusal that reaches the client as an `error` frame or a 4xx body."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message

    def __repr__(self) -> str:
        return f"SwitchboardError({self.code.value!r}, {self.message!r})"


class FieldError(SwitchboardError):
    """A refusal about one named input field (of a pre-chat form): its error frame names
    the field, so a form can mark it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(ErrorCode.BAD_REQUEST, message)
        self.field = field


HTTP_STATUS = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.TOO_LONG: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOTP_REQUIRED: 401,
    ErrorCode.TOTP_WRONG: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_TYPE: 415,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.UNAVAILABLE: 503,
}
