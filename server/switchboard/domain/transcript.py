"""A conversation's transcript as the customer may take it away: the messages the customer
saw, in order, as plain text (internal notes and whispers are never in it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: an address with one @ and a dot after it: what can be checked without sending mail
LOOSE_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
#: transcripts one conversation may ask for within the limit's window
TRANSCRIPTS_PER_WINDOW = 3
TRANSCRIPT_WINDOW_S = 3600


def speaker(sender: dict[str, Any]) -> str:
    role = sender.get("role", "")
    name = sender.get("display_name") or ""
    if role == "customer":
        return name or "You"
    if role == "system":
        return "Note"
    return name or ("Assistant" if role == "bot" else "Agent")


def transcript_text(events: list[dict[str, Any]]) -> str:
    """Each message the customer saw, one line each: when (UTC), who, what."""
    lines = []
    for event in events:
        if event.get("type") != "message" or "text" not in event:
            continue  # a lifecycle step, or a message redacted since
        at = datetime.fromtimestamp(event.get("ts", 0) / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"[{at} UTC] {speaker(event.get('from') or {})}: {event['text']}")
    return "\n".join(lines) + "\n"
