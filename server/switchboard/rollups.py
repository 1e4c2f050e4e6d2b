"""Keeps the reports' rollups: every closed 15-minute bucket, summed per queue and per agent.

Runs on every node; a PostgreSQL advisory lock lets one node at a time roll
(record/reports.py, `Reports.roll`), and a roll is idempotent (a bucket's rows are
deleted and written again in one transaction), so a node that dies in a step
leaves nothing half done. A bucket is closed a minute after its end, when the
archiver has copied its events; one of its events that arrives later marks it
stale (a trigger on `events`), and the next step rolls it again. Until then a
report folds that bucket's raw events, so it is never wrong, only slower.
"""

from __future__ import annotations

import asyncio
import logging

from .background import Background, cancel_and_wait
from .domain.errors import SwitchboardError
from .record.database import RECORD_ERRORS
from .record.reports import Reports
from .store.clock import now_ms
from .store.figures import Figures

log = logging.getLogger(__name__)

#: A bucket is rolled up this long after its end (the archiver copies events within seconds).
CLOSED_AFTER_MS = 60_000
ROLL_EVERY_S = 15.0
#: What pauses rolling until the next step: Redis or PostgreSQL away.
PAUSING_ERRORS: tuple[type[BaseException], ...] = (SwitchboardError, *RECORD_ERRORS)


class ReportRollups(Background):
    def __init__(self, reports: Reports, figures: Figures, interval_s: float = ROLL_EVERY_S) -> None:
        self.reports = reports
        self.figures = figures
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-rollups")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def step(self) -> int:
        """Rolls what is due; returns the buckets rolled."""
        snapshot = await self.figures.snapshot()
        now = now_ms()
        return await self.reports.roll(now - CLOSED_AFTER_MS, {q.id: q.rules for q in snapshot.queues}, now)

    async def rebuild(self, start_ms: int, end_ms: int) -> int:
        """(Re)builds the rollups of [start_ms, end_ms) with the queues' current thresholds: for data
        loaded into `events` by other means (loadtest/report_data.py), or after a threshold changed."""
        snapshot = await self.figures.snapshot()
        return await self.reports.rebuild(start_ms, end_ms, {q.id: q.rules for q in snapshot.queues}, now_ms())

    async def _run(self) -> None:
        while True:
            try:
                rolled = await self.step()
            except PAUSING_ERRORS as exc:
                log.warning("report rollups paused: %s", getattr(exc, "message", None) or repr(exc))
                rolled = 0
            except Exception:
                log.exception("report rollup step failed")
                rolled = 0
            if not rolled:
                await asyncio.sleep(self.interval_s)
