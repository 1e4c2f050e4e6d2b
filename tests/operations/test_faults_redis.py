"""Redis going away and coming back: the node answers `unavailable` meanwhile,
stays up, and resumes by itself; the AOF keeps every acknowledged write."""

from __future__ import annotations

import httpx
import pytest

from conftest import ADMIN_TOKEN
from processes import own_redis, processes  # noqa: F401 (fixtures)
from support import eventually

pytestmark = pytest.mark.slow

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
RESUME_REASON = "updates were interrupted; reconnect and resume"


async def test_a_redis_outage_is_unavailable_and_a_restart_loses_nothing(own_redis, processes):
    node = processes(redis_url=own_redis.url)
    await node.start()
    http = httpx.AsyncClient(base_url=node.base, headers=HEADERS)
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
    last_seq = (await customer.ok({"type": "message", "text": "three"}))["seq"]
    await customer.expect("message", text="two")

    own_redis.kill()  # kill -9; the AOF is fsynced at every write

    refused = await customer.request({"type": "message", "text": "lost in the outage"})
    assert (refused["type"], refused["code"]) == ("error", "unavailable")
    refused = await alice.request({"type": "set_state", "state": "not_ready"})
    assert (refused["type"], refused["code"]) == ("error", "unavailable")
    ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert (await http.get(f"/api/v1/conversations/{cid}")).json()["error"]["code"] == "unavailable"
    newcomer = await node.customer_socket_refused()
    assert newcomer == (1011, "the store is unreachable (ConnectionError)")
    assert node.alive()

    own_redis.start()
    # The node notices by itself: it is ready again, and once its pub/sub holds
    # every channel again it tells each socket to resume, which replays whatever
    # pushes were lost meanwhile.
    assert await eventually(lambda: _ready(http), timeout=10)
    assert await customer.closed(timeout=10) == (1001, RESUME_REASON)
    assert await alice.closed(timeout=10) == (1001, RESUME_REASON)
    customer, again = await node.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": last_seq}
    )
    assert again["recovered"] is True and again["conversation"]["status"] == "active"
    alice, desk = await node.agent(token, resume={cid: last_seq})
    assert [c["conversation_id"] for c in desk["conversations"]] == [cid]
    assert desk["state"]["state"] == "available"  # back within the disconnect grace
    # The Functions libraries came back with the AOF: the next steps run as before
    await customer.ok({"type": "message", "text": "four"})
    await alice.expect("message", text="four")
    await alice.ok({"type": "message", "conversation_id": cid, "text": "five"})
    await customer.expect("message", text="five")

    detail = (await http.get(f"/api/v1/conversations/{cid}")).json()
    assert [m["text"] for m in detail["messages"]] == ["one", "two", "three", "four", "five"]
    assert (await http.get("/api/v1/queues/support")).status_code == 200
    await http.aclose()
    for client in (customer, alice):
        await client.close()
    assert node.stop() == 0
    assert "Traceback" not in node.log_path.read_text()


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200


async def test_a_node_started_while_redis_is_away_waits_for_it(tmp_path, processes):
    from conftest import free_port
    from processes import RedisProcess, redis_binary

    redis = RedisProcess(tmp_path / "later", binary=redis_binary(), port=free_port())
    node = processes(redis_url=f"redis://127.0.0.1:{redis.port}/0")
    while node.port == redis.port:  # neither listens yet: the OS may offer the same port twice
        node.port = free_port()
    await node.start(ready=False)
    http = httpx.AsyncClient(base_url=node.base, headers=HEADERS)
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 503
    redis.start()
    try:
        assert await eventually(lambda: _ready(http), timeout=10)
        assert (await http.put("/api/v1/queues/support", json={"name": "Support"})).status_code == 200
        customer, _ = await node.customer()
        await customer.ok({"type": "start_chat", "queue": "support", "text": "hello"})
        await customer.expect("message", text="hello")  # pushes reach the socket: subscribed
        await customer.close()
        assert node.stop() == 0
    finally:
        await http.aclose()
        redis.stop()


async def test_a_redis_that_hangs_without_closing_the_connection_is_noticed(own_redis, database_url, monkeypatch):
    """A Redis that stops answering but keeps its connections open (a frozen process,
    a network that drops packets): the push reader pings it, gives the connection
    up when nothing comes back, and once Redis answers again subscribes anew and
    tells its sockets to resume."""
    import os
    import signal

    from conftest import start_node
    from support import hello_customer
    from switchboard.store import pushes

    monkeypatch.setattr(pushes, "PING_AFTER_S", 0.3)
    monkeypatch.setattr(pushes, "SILENT_LIMIT_S", 1.0)
    node = await start_node(own_redis.url, database_url)
    hub = node.services.hub

    async def subscribed() -> bool:
        return hub.subscribed

    async def unsubscribed() -> bool:
        return not hub.subscribed

    try:
        customer, _ = await hello_customer(node.customer_url)
        assert hub.subscribed
        os.kill(own_redis.pid, signal.SIGSTOP)
        try:
            assert await eventually(unsubscribed, timeout=10)
        finally:
            os.kill(own_redis.pid, signal.SIGCONT)
        assert await customer.closed(timeout=15) == (1001, RESUME_REASON)
        assert await eventually(subscribed, timeout=10)
    finally:
        await node.stop()
