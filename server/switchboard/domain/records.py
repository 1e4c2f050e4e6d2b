"""What the archive copies from the live store to the system of record, and the
text search configuration of a conversation's language. Pure data: the store
builds these, the record writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: PostgreSQL's text search configurations for the languages Switchboard knows;
#: other languages are searched word by word (`simple`: no stemming, no stop words).
SEARCH_CONFIGS = {"en": "english", "de": "german", "fr": "french"}


def stream_position(stream_id: str) -> tuple[int, int]:
    """A Redis stream id (`<ms>-<n>`, as the events' ids are) as a pair that sorts as the stream does."""
    ms, _, n = stream_id.partition("-")
    return int(ms), int(n or 0)


def search_config(language: str | None) -> str:
    """The configuration for a conversation in `language` ("de", "de-AT", ...)."""
    base = (language or "").split("-")[0].lower()
    return SEARCH_CONFIGS.get(base, "simple")


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    audience: str  # "all", or "agents" (an internal note)
    frame: dict[str, Any]


@dataclass(frozen=True)
class ConversationSnapshot:
    """What Redis holds of one conversation, for PostgreSQL."""

    conversation_id: str
    record: dict[str, str]  # the routing record: visitor, channel, created_at, open, session, ...
    #: the session views (what cards are built from), oldest first; None when neither they nor
    #: the record changed since the last copy (only messages were added)
    sessions: list[dict[str, Any]] | None
    history: list[HistoryEntry]  # after what PostgreSQL confirmed, in order
    last_activity: int | None
    visitor_created_at: int | None

    @property
    def last_seq(self) -> int:
        return self.history[-1].seq if self.history else 0


@dataclass(frozen=True)
class VisitorSnapshot:
    visitor_id: str
    created_at: int
    last_seen_at: int | None
    web_sessions: list[dict[str, Any]] = field(default_factory=list)
    journey: list[dict[str, Any]] = field(default_factory=list)
