"""Who may open a chat, and when: the origin policy and what a closed queue does with a new chat.

Pure decisions: the caller reads the queue's configuration and the clock and passes them in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ErrorCode, SwitchboardError
from .hours import BusinessHours, is_open, next_opening
from .states import Channel


def same_origin(origin: str, host: str | None) -> bool:
    """The page was served by this server (the desk, the supervisor view, the demo)."""
    try:
        return bool(host) and urlsplit(origin).netloc.lower() == (host or "").lower()
    except ValueError:
        return False


def origin_allowed(origin: str | None, allowed: Collection[str] | None, host: str | None) -> bool:
    """`allowed` (None: any site), and pages this server served itself. Browsers always send
    Origin; only a browser page can be a cross-site attacker, so a request without one passes."""
    if origin is None or allowed is None:
        return True
    return origin in allowed or same_origin(origin, host)


def queue_origins(
    queue_allowed: Collection[str] | None, node_allowed: Collection[str] | None
) -> Collection[str] | None:
    """A queue's `allowed_origins`, when set, replace the node's (SWITCHBOARD_ALLOWED_ORIGINS) for its chats."""
    return queue_allowed if queue_allowed is not None else node_allowed


@dataclass(frozen=True, slots=True)
class Hold:
    """How a new session waits for its queue: `until` the next opening (None: route it now),
    and the message the customer gets meanwhile."""

    until: int | None = None
    closed_message: str = ""


ROUTE_NOW = Hold()


def hold_for_hours(hours: BusinessHours | None, now: int, channel: str) -> Hold:
    """A queue closed at `now` refuses a webchat with `unavailable` and its closed message; a
    messaging conversation (a message left for the team, too) is kept and waits for the next
    opening."""
    if hours is None or is_open(hours, now):
        return ROUTE_NOW
    opens = next_opening(hours, now)
    if channel != Channel.MESSAGING or opens is None:
        raise SwitchboardError(ErrorCode.UNAVAILABLE, hours.closed_message)
    return Hold(opens, hours.closed_message)
