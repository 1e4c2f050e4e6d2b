"""The controlled clock: a test sets the server's time, and the lifecycle events carry it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import asyncpg

from support import eventually
from switchboard.store import clock

YESTERDAY_0800 = int(datetime(2026, 12, 3, 8, 0, tzinfo=UTC).timestamp() * 1000)


def test_the_clock_runs_on_its_own_until_set_then_is_frozen_moved_and_reset(controlled_clock: None) -> None:
    assert abs(clock.now_ms() - time.time_ns() // 1_000_000) < 1_000
    clock.set_clock(YESTERDAY_0800)
    assert clock.now_ms() == YESTERDAY_0800  # frozen: the same moment however long the test takes
    assert clock.advance_clock(12_000) == YESTERDAY_0800 + 12_000 == clock.now_ms()
    clock.set_clock(YESTERDAY_0800, frozen=False)
    assert YESTERDAY_0800 <= clock.now_ms() < YESTERDAY_0800 + 1_000
    clock.advance_clock(60_000)
    assert YESTERDAY_0800 + 60_000 <= clock.now_ms() < YESTERDAY_0800 + 61_000
    clock.reset_clock()
    assert abs(clock.now_ms() - time.time_ns() // 1_000_000) < 1_000


async def test_a_chat_on_a_set_clock_is_recorded_at_that_time(sb: Any, database_url: str, controlled_clock: None):
    clock.set_clock(YESTERDAY_0800)
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat()
    offer = await agent.expect("offer")
    clock.advance_clock(12_000)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    await sb.archive_caught_up()
    connection = await asyncpg.connect(database_url)
    try:

        async def recorded() -> dict[str, datetime] | None:
            found = await connection.fetch(
                "SELECT type, occurred_at FROM events WHERE session_id = $1", started["session_id"]
            )
            times = {row["type"]: row["occurred_at"] for row in found}
            return times if "session.connected" in times else None

        times = await eventually(recorded)
    finally:
        await connection.close()
    assert times["session.queued"] == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    assert times["session.connected"] == datetime(2026, 12, 3, 8, 0, 12, tzinfo=UTC)
