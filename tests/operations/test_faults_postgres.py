"""PostgreSQL going away and coming back: chats go on with no error to anyone, the
backlog waits in Redis, and once PostgreSQL is back every acknowledged message is
in it exactly once. Also a node killed (-9) in the middle of archiving."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from conftest import ADMIN_TOKEN
from processes import own_redis, processes  # noqa: F401 (fixtures)
from support import eventually
from switchboard.embedded_postgres import EmbeddedPostgres

pytestmark = pytest.mark.slow


@pytest.fixture
def own_postgres() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, which it may kill and start again."""
    folder = Path(tempfile.mkdtemp(prefix="sb-test-own-pg-"))
    server = EmbeddedPostgres(folder / "postgres", durable=True)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def messages_in(url: str, cid: str) -> list[tuple[int, str]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT seq, body FROM messages WHERE conversation_id = $1 AND kind = 'message' ORDER BY seq", cid
        )
    finally:
        await connection.close()
    return [(row["seq"], row["body"]) for row in rows]


async def test_chats_go_on_while_postgresql_is_killed_and_nothing_is_lost_or_doubled(
    make_deployment, own_postgres, redis_url
):
    sb = await make_deployment(database_url=own_postgres.url)
    await sb.queue("support")
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="before the outage")
    cid = started["conversation_id"]
    await agent.ok({"type": "accept", "offer_id": (await agent.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")

    own_postgres.kill()  # kill -9
    sent = []
    for i in range(20):
        who, frame = (customer, {"type": "message", "text": f"during {i}"})
        if i % 2:
            who, frame = (agent, {"type": "message", "conversation_id": cid, "text": f"during {i}"})
        sent.append(((await who.ok(frame))["seq"], frame["text"]))  # acknowledged: no error to anyone
    await customer.expect("message", text="during 19")
    ready = await sb.admin("GET", "/readyz")
    assert ready["status"] == "ready" and ready["postgres"].startswith("unavailable")
    metrics = (await sb.http.get("/metrics")).text
    assert 'switchboard_archive_backlog{kind="conversations"} 1.0' in metrics

    own_postgres.start()

    async def drained() -> list[tuple[int, str]] | None:
        found = await messages_in(own_postgres.url, cid)
        return found if sent[-1] in found else None

    found = await eventually(drained, timeout=20)
    assert [text for _, text in found] == ["before the outage"] + [text for _, text in sent]
    assert len({seq for seq, _ in found}) == len(found), "nothing doubled"
    assert (await sb.admin("GET", "/readyz"))["postgres"] == "ok"


async def test_a_node_killed_while_archiving_leaves_nothing_behind(processes, redis_url, database_url):
    """The first node dies (-9) with its archiver wherever it was, a claim held
    perhaps; after the lease another node copies what is left: every message once."""
    env = {"SWITCHBOARD_ARCHIVE_LEASE_S": "1", "SWITCHBOARD_ARCHIVE_INTERVAL_S": "0.05"}
    first = processes(redis_url=redis_url, env=env)
    await first.start()
    http = httpx.AsyncClient(base_url=first.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert (await http.put("/api/v1/queues/support", json={"name": "Support"})).status_code == 200
    customers = []
    for i in range(10):
        customer, _ = await first.customer()
        started = await customer.ok({"type": "start_chat", "queue": "support", "text": f"chat {i} message 0"})
        for n in range(1, 10):
            await customer.ok({"type": "message", "text": f"chat {i} message {n}"})
        customers.append((customer, started["conversation_id"]))
    first.kill()  # wherever its archiver was
    await http.aclose()
    second = processes(redis_url=redis_url, env=env)
    await second.start()
    for i, (customer, cid) in enumerate(customers):

        async def complete(cid: str = cid) -> list[tuple[int, str]] | None:
            found = await messages_in(database_url, cid)
            return found if len(found) >= 10 else None

        found = await eventually(complete, timeout=20)
        assert [text for _, text in found] == [f"chat {i} message {n}" for n in range(10)]
        await customer.close()
    second.stop()


async def test_a_backlog_waiting_for_postgresql_survives_a_redis_restart(make_deployment, own_postgres, own_redis):
    sb = await make_deployment(database_url=own_postgres.url, redis_url=own_redis.url)
    await sb.queue("support")
    customer, started = await sb.chat(text="first")
    cid = started["conversation_id"]
    own_postgres.kill()
    for i in range(5):
        await customer.ok({"type": "message", "text": f"waiting {i}"})
    own_redis.kill()  # kill -9: the backlog's marks are in the AOF (fsynced at every write)
    own_redis.start()
    own_postgres.start()

    async def drained() -> list[tuple[int, str]] | None:
        found = await messages_in(own_postgres.url, cid)
        return found if len(found) >= 6 else None

    found = await eventually(drained, timeout=30)
    assert [text for _, text in found] == ["first"] + [f"waiting {i}" for i in range(5)]
