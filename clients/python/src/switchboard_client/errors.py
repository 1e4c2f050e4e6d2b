"""What can go wrong, as one tree:

ClientError
├── SwitchboardError    the server refused a command (its `error` frame: code and message)
├── ConnectionLost      the socket dropped before the command's answer came
├── NotConnected        no open socket within the command's deadline, or the client is closed
├── CommandTimeout      the socket stayed open but no answer came within the deadline
└── ClosedByServer      the server ended the session for good (bad token, origin refused):
                        reconnecting would not help, so the client stops
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The error codes of the wire contract. A code this client does not know is kept as a plain string."""

    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    TOO_LONG = "too_long"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class ClientError(Exception):
    """Every error this package raises."""


class SwitchboardError(ClientError):
    """The server answered a command with an `error` frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: ErrorCode | str = ErrorCode(code) if code in ErrorCode._value2member_map_ else code
        self.message = message


class ConnectionLost(ClientError):
    """The socket dropped while a command waited for its answer: it may or may not have taken effect."""


class NotConnected(ClientError):
    """There was no open socket to send on within the deadline, or the client was closed."""


class CommandTimeout(ClientError):
    """No answer to a command within its deadline."""


class ClosedByServer(ClientError):
    """The server closed the socket with a code that says reconnecting will not help (4401, 4403, HTTP 403)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"closed by the server: {code} {reason}".rstrip())
        self.code = code
        self.reason = reason
