"""The audit trail of changes: who changed what, when, from where, before and after.

The erasures, exports and redactions of record/privacy.py write to the same
table (without an address or a before and after). Whoever writes here has
removed every secret first (domain.accounts.without_secrets).
"""

from __future__ import annotations

import datetime
from typing import Any

from ..domain.accounts import AuditEntry, AuditPage
from .database import Database


class AuditTrail:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, actor: str, action: str, target: str, ip: str | None, before: Any, after: Any) -> None:
        async with self.database.pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO audit_log (actor, action, target, ip, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
                actor,
                action,
                target,
                ip,
                before,
                after,
            )

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
