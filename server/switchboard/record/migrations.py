"""The schema's versions, applied at start under an advisory lock.

The runner is the few lines below rather than a migration tool: the tools
(Alembic, yoyo) bring a second, synchronous driver and their own
configuration, while all it takes is numbered SQL files, one table of what
ran, and PostgreSQL's transactional DDL. Every node runs it at start; the
advisory lock makes nodes that start together wait for each other, so each
migration is applied once, and a failing one leaves nothing half done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

#: pg_advisory_xact_lock's key: "sbmigrat" read as a number.
LOCK_KEY = int.from_bytes(b"sbmigrat", "big") & 0x7FFF_FFFF_FFFF_FFFF
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with the code, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        if match := _NAME.match(entry.name):
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


async def migrate(connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy) -> list[int]:
    """Applies what the database lacks; returns the versions applied now."""
    applied_now = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await connection.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations():
            if migration.version in done:
                continue
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
            applied_now.append(migration.version)
    return applied_now
