"""The recent lifecycle events the figures are computed from: Redis' stream, and before it PostgreSQL.

Events leave Redis' stream once PostgreSQL has them and the live window passed
(store/archive.py), while `/api/v1/stats` and the supervisor's tiles look back
up to a day. So the events of a window that reaches further back than the
stream come from PostgreSQL; when it is away, the figures say from when they
are complete (`complete_from_ms`), as they do when a cap leaves events out.
"""

from __future__ import annotations

import logging

from ..domain.records import stream_position
from ..domain.stats import MAX_EVENTS
from ..record.database import RECORD_ERRORS
from ..record.reads import RecordReads
from ..store.directory import Directory
from ..store.figures import Figures, RecentEvents

log = logging.getLogger(__name__)


class EventHistory:
    def __init__(self, figures: Figures, directory: Directory, record: RecordReads) -> None:
        self.figures = figures
        self.directory = directory
        self.record = record

    async def recent_events(self, start_ms: int, limit: int = MAX_EVENTS) -> RecentEvents:
        """The events from `start_ms` on, oldest first, at most `limit` (the newest)."""
        recent = await self.figures.recent_events(start_ms, limit)
        if recent.truncated:
            return recent  # the cap is reached within what Redis holds
        first = await self.directory.first_event_id()
        first_ms = stream_position(first)[0] if first else None
        if first is not None and first_ms is not None and first_ms <= start_ms:
            return recent  # Redis' stream reaches back far enough
        try:
            older = await self.record.events_before(start_ms, first, limit - len(recent.events) + 1)
        except RECORD_ERRORS as exc:
            log.warning("figures from Redis' events only: PostgreSQL is away (%s)", type(exc).__name__)
            complete_from = first_ms if first_ms is not None else recent.complete_from_ms
            return RecentEvents(recent.events, recent.newest_id, max(start_ms, complete_from), recent.truncated)
        events = older + recent.events
        if len(events) <= limit:
            return RecentEvents(events, recent.newest_id, start_ms, False)
        events = events[-limit:]
        # events of the oldest kept millisecond may be cut too: complete from the next one
        return RecentEvents(events, recent.newest_id, max(start_ms, int(events[0].get("ts", start_ms)) + 1), True)
