"""Query parameters of the HTTP API that are whole numbers within bounds."""

from __future__ import annotations

from .errors import ErrorCode, SwitchboardError


def bounded_int(raw: str | None, name: str, default: int, low: int, high: int, kind: str = "an integer") -> int:
    """`raw` as an integer from `low` to `high`; `default` when absent or empty (a
    search form sends empty fields); else 400 naming the parameter."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be {kind}") from None
    if not low <= value <= high:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be between {low} and {high}")
    return value
