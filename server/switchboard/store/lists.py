"""Lua's cjson writes an empty list as {}: the fields that are lists in the contract get it back as []."""

from __future__ import annotations

from typing import Any

#: Fields that are lists in the contract.
LIST_FIELDS = frozenset(
    {
        "thread",
        "skills",
        "messages",
        "agents",
        "journey",
        "offers",
        "sessions",
        "languages",
        "queues",
        "monitoring",
        "visitors",
    }
)


def lists_fixed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ([] if k in LIST_FIELDS and v == {} else lists_fixed(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [lists_fixed(v) for v in value]
    return value


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
