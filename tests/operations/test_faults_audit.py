"""The audit trail of the live path while PostgreSQL is away: a supervisor's monitoring
is answered at once, and its audit entries reach PostgreSQL once it is back."""

from __future__ import annotations

import asyncpg
import pytest
from test_faults_postgres import own_postgres  # noqa: F401 (fixture)

from support import eventually

pytestmark = pytest.mark.slow


async def test_monitoring_waits_for_postgresql_in_the_background(make_deployment, own_postgres):
    sb = await make_deployment(database_url=own_postgres.url)
    await sb.queue("support", accept_mode="auto")
    await sb.available_agent("alice")
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    _, started = await sb.chat(text="hello")
    cid = started["conversation_id"]

    own_postgres.kill()  # kill -9
    await sue.ok({"type": "monitor", "conversation_id": cid}, timeout=2)  # no waiting for PostgreSQL
    await sue.ok({"type": "unmonitor", "conversation_id": cid}, timeout=2)
    own_postgres.start()

    async def written() -> list[tuple[str, str]]:
        try:
            connection = await asyncpg.connect(own_postgres.url)
        except (OSError, asyncpg.PostgresError):
            return []
        try:
            rows = await connection.fetch("SELECT action, target FROM audit_log WHERE actor = 'agent:sue' ORDER BY id")
        finally:
            await connection.close()
        return [(row["action"], row["target"]) for row in rows]

    async def both_written() -> list[tuple[str, str]]:
        rows = await written()
        return rows if len(rows) >= 2 else []

    assert await eventually(both_written, timeout=30) == [
        ("conversation.monitor", cid),
        ("conversation.unmonitor", cid),
    ]
