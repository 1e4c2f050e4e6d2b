"""Redis Sentinel: a node configured with sentinel addresses and a master name
follows a failover (the master killed mid-chat) and the chat continues."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import redis as redis_sync

from conftest import ADMIN_TOKEN, free_port
from processes import RedisProcess, SentinelProcess, processes, redis_binary  # noqa: F401 (a fixture)
from support import eventually

pytestmark = pytest.mark.slow

MASTER = "switchboard"
RESUME_REASON = "updates were interrupted; reconnect and resume"


@pytest.fixture
def sentinel_setup(tmp_path):
    """A master, its replica and three sentinels on local ports."""
    quick = ["--repl-diskless-sync-delay", "0"]  # the first sync starts at once, not after 5 s
    master = RedisProcess(tmp_path / "m", binary=redis_binary(), port=free_port(), extra=quick)
    master.start()
    replica = RedisProcess(
        tmp_path / "s",
        binary=redis_binary(),
        port=free_port(),
        extra=[*quick, "--replicaof", "127.0.0.1", str(master.port)],
    )
    replica.start()
    sentinels = [SentinelProcess(tmp_path / "sentinels", MASTER, master.port) for _ in range(3)]
    yield master, replica, sentinels
    for sentinel in sentinels:
        sentinel.stop()
    replica.stop()
    master.stop()


def sentinel_view(sentinel: SentinelProcess) -> dict:
    client = redis_sync.Redis(port=sentinel.port, socket_timeout=1, decode_responses=True)
    try:
        return {
            "master": client.sentinel_get_master_addr_by_name(MASTER),
            "replicas": len(client.sentinel_slaves(MASTER)),
            "others": client.sentinel_master(MASTER)["num-other-sentinels"],
        }
    except (redis_sync.ConnectionError, redis_sync.ResponseError):
        return {}
    finally:
        client.close()


async def test_a_failover_mid_chat_and_the_chat_goes_on(sentinel_setup, processes):
    master, replica, sentinels = sentinel_setup

    async def sentinels_agree():  # each knows the replica and the two other sentinels
        views = await asyncio.gather(*(asyncio.to_thread(sentinel_view, s) for s in sentinels))
        return all(v.get("replicas") == 1 and v.get("others") == 2 for v in views)

    await eventually(sentinels_agree, timeout=20, interval=0.2)
    node = processes(
        env={
            "SWITCHBOARD_REDIS_SENTINELS": ",".join(s.address for s in sentinels),
            "SWITCHBOARD_REDIS_MASTER_NAME": MASTER,
        }
    )
    await node.start()
    http = httpx.AsyncClient(base_url=node.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert (await http.put("/api/v1/queues/support", json={"name": "Support"})).status_code == 200
    await http.put("/api/v1/agents/alice", json={"display_name": "Alice", "languages": ["en"], "queues": ["support"]})
    token = (await http.post("/api/v1/agents/alice/token")).json()["token"]
    alice, _ = await node.agent(token)
    await alice.ok({"type": "set_state", "state": "available"})
    customer, welcome = await node.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": "one"}))["conversation_id"]
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "two"})
    last_seq = (await customer.expect("message", text="two"))["seq"]
    # Replication is asynchronous: what the master acknowledged in its last
    # moments may be lost in a failover. Here the replica has it all first.
    direct = redis_sync.Redis(port=master.port)
    assert direct.wait(1, 2000) == 1
    direct.close()

    master.kill()
    # The sentinels promote the replica; the node reconnects to it by itself,
    # subscribes there again and tells its sockets to resume.
    assert await customer.closed(timeout=20) == (1001, RESUME_REASON)
    await alice.closed(timeout=5)
    promoted = await asyncio.to_thread(sentinel_view, sentinels[0])
    assert promoted["master"] == ("127.0.0.1", replica.port)

    customer, again = await node.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": last_seq}
    )
    assert again["recovered"] is True and again["conversation"]["status"] == "active"
    alice, desk = await node.agent(token, resume={cid: last_seq})
    assert [c["conversation_id"] for c in desk["conversations"]] == [cid]
    await customer.ok({"type": "message", "text": "three"})
    await alice.expect("message", text="three")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "four"})
    await customer.expect("message", text="four")
    detail = (await http.get(f"/api/v1/conversations/{cid}")).json()
    assert [m["text"] for m in detail["messages"] if m["from"]["role"] != "system"] == ["one", "two", "three", "four"]
    assert (await http.get("/readyz")).status_code == 200
    await http.aclose()
    for client in (customer, alice):
        await client.close()
    assert node.stop() == 0
