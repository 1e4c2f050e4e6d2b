"""The audit trail of changes: who changed what, when, from where, before and after.

The erasures, exports and redactions of record/privacy.py write to the same
table (without an address or a before and after). Whoever writes here has
removed every secret first (domain.accounts.without_secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections import deque
from typing import Any, NamedTuple

import asyncpg

from ..background import Background, cancel_and_wait
from ..domain.accounts import AuditEntry, AuditPage, without_nul
from .database import RECORD_ERRORS, Database

log = logging.getLogger(__name__)


class Entry(NamedTuple):
    actor: str
    action: str
    target: str
    ip: str | None
    before: Any
    after: Any


class AuditTrail:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, actor: str, action: str, target: str, ip: str | None, before: Any, after: Any) -> None:
        async with self.database.pool.acquire() as connection:
            try:
                await connection.execute(
                    "INSERT INTO audit_log (actor, action, target, ip, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
                    actor,
                    action,
                    target,
                    ip,
                    without_nul(before),
                    without_nul(after),
                )
            except asyncpg.InternalClientError:
                # Its protocol is out of step (an operation cut short while the database went
                # away): closed, so the pool opens a fresh one instead of handing it out again.
                connection.terminate()
                raise

    async def page(
        self,
        actor: str | None,
        action: str | None,
        since: datetime.datetime | None,
        until: datetime.datetime | None,
        before_id: int | None,
        limit: int,
    ) -> AuditPage:
        """The newest entries first, those older than the entry `before_id` (the cursor)."""
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT * FROM audit_log WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)"
                " AND ($3::timestamptz IS NULL OR occurred_at >= $3) AND ($4::timestamptz IS NULL OR occurred_at < $4)"
                " AND ($5::bigint IS NULL OR id < $5) ORDER BY id DESC LIMIT $6",
                actor,
                action,
                since,
                until,
                before_id,
                limit + 1,
            )
        entries = [
            AuditEntry(
                id=str(row["id"]),
                at=round(row["occurred_at"].timestamp() * 1000),
                actor=row["actor"],
                action=row["action"],
                target=row["target"],
                ip=row["ip"],
                # the privacy entries (erasure, export, redaction) keep what they did in `detail`
                before=row["before"],
                after=row["after"] if row["after"] is not None or not row["detail"] else row["detail"],
            )
            for row in rows[:limit]
        ]
        return AuditPage(entries, entries[-1].id if len(rows) > limit else None)


#: One pass of the backlog's writes; a database that hangs is tried again after it.
WRITE_TIMEOUT_S = 10.0


class AuditBacklog(Background):
    """Entries from the live path (a supervisor starting to monitor a conversation),
    written to PostgreSQL by a task of their own, so a socket never waits for the
    database. While PostgreSQL is away they wait here, at most `limit` of them: past
    that the oldest go (and the log says how many)."""

    def __init__(self, trail: AuditTrail, limit: int = 10_000, retry_s: float = 1.0) -> None:
        self.trail = trail
        self.retry_s = retry_s
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._waiting = asyncio.Event()
        self._dropped = 0
        self._task: asyncio.Task[None] | None = None

    def note(self, actor: str, action: str, target: str, ip: str | None, after: Any = None) -> None:
        if len(self._entries) == self._entries.maxlen:
            self._dropped += 1
        self._entries.append(Entry(actor, action, target, ip, None, after))
        self._waiting.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-backlog")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        await cancel_and_wait(task)
        with contextlib.suppress(
            *RECORD_ERRORS, asyncpg.InternalClientError
        ):  # a last try, bounded: the node is stopping
            await asyncio.wait_for(self._write(), 2)
        if self._entries:
            log.warning("%d audit entries not written: PostgreSQL was away when the node stopped", len(self._entries))

    async def _run(self) -> None:
        while True:
            await self._waiting.wait()
            self._waiting.clear()
            try:
                await asyncio.wait_for(self._write(), WRITE_TIMEOUT_S)
            except RECORD_ERRORS as exc:  # TimeoutError among them
                log.warning("audit entries wait for PostgreSQL (%s)", type(exc).__name__)
            except Exception:
                # Whatever else a database coming back may raise, the task that writes the
                # trail must not die of it: the entries would wait here for ever.
                log.exception("audit entries could not be written; trying again")
            else:
                continue
            self._waiting.set()
            await asyncio.sleep(self.retry_s)

    async def _write(self) -> None:
        if self._dropped:
            log.error("%d audit entries dropped: PostgreSQL was away too long", self._dropped)
            self._dropped = 0
        while self._entries:
            await self.trail.record(*self._entries[0])
            self._entries.popleft()
