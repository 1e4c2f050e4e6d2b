"""Supervisors act on the agents of their queues, and only on those: forcing a state,
signing an agent out. Over real HTTP and sockets."""

from __future__ import annotations

from typing import Any

import httpx
from test_accounts import PASSWORD, Browser, create_user


def bearer(sb: Any, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sb.node.base, timeout=10, headers={"Authorization": f"Bearer {token}"})


async def test_a_supervisor_forces_the_state_of_its_agents_only(sb):
    await sb.queue("other")
    alice = await sb.available_agent("alice", queues=["support"])
    bob_token = await sb.agent("bob", queues=["other"])
    sue_token = await sb.agent("sue", role="supervisor", queues=["support"])
    await sb.agent("sam", role="supervisor", queues=["support"])
    async with bearer(sb, sue_token) as sue, bearer(sb, bob_token) as bob:
        forced = await sue.post("/api/v1/agents/alice/state", json={"state": "not_ready", "reason": "coaching"})
        assert forced.status_code == 200 and forced.json()["state"] == "not_ready", forced.text
        await alice.expect("agent.state", state="not_ready", reason="coaching")
        assert (await sb.admin("GET", "/api/v1/agents/alice"))["state"] == "not_ready"
        # Not another queue's agent, not another supervisor, not as an agent; nothing but these states.
        for who, path, body in (
            (sue, "/api/v1/agents/bob/state", {"state": "offline"}),
            (sue, "/api/v1/agents/sam/state", {"state": "offline"}),
            (bob, "/api/v1/agents/alice/state", {"state": "offline"}),
            (sue, "/api/v1/agents/bob/sign-out", None),
            (bob, "/api/v1/agents/alice/sign-out", None),
        ):
            refused = await who.post(path, json=body)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", (path, refused.text)
        assert (await sue.post("/api/v1/agents/alice/state", json={"state": "available"})).status_code == 400
        assert (await sue.post("/api/v1/agents/nobody/state", json={"state": "offline"})).status_code == 404
    assert (await sb.admin("GET", "/api/v1/agents/bob"))["state"] == "offline"  # never went anywhere
    # The admin acts on any agent.
    await sb.admin("POST", "/api/v1/agents/bob/state", {"state": "not_ready"})
    assert (await sb.admin("GET", "/api/v1/agents/bob"))["state"] == "not_ready"
    trail = (await sb.http.get("/api/v1/audit", params={"action": "agents.state.force"})).json()["entries"]
    assert [(e["actor"], e["target"], e["before"]["state"], e["after"]["state"]) for e in trail] == [
        ("admin-token", "bob", "offline", "not_ready"),
        ("agent:sue", "alice", "available", "not_ready"),
    ]


async def test_a_supervisor_signs_an_agent_out_everywhere(sb):
    agent = await create_user(sb, "alice@example.com", "agent", queues=["support"], password=PASSWORD)
    await create_user(sb, "sue@example.com", "supervisor", queues=["support"], password=PASSWORD)
    async with Browser(sb) as desk, Browser(sb) as supervisor:
        await desk.sign_in("alice@example.com")
        token = (await desk.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        socket, _ = await sb.agent_socket(token)
        await socket.ok({"type": "set_state", "state": "available"})
        await supervisor.sign_in("sue@example.com")
        assert (await supervisor.http.post(f"/api/v1/agents/{agent['id']}/sign-out")).status_code == 403  # CSRF
        assert (await supervisor.change("POST", f"/api/v1/agents/{agent['id']}/sign-out")).status_code == 204
        assert (await socket.closed())[0] == 4401
        assert (await desk.http.get("/api/v1/me")).status_code == 401
        assert (await sb.admin("GET", f"/api/v1/agents/{agent['id']}"))["state"] == "offline"
        # Signing in again works: signed out is not disabled.
        await desk.sign_in("alice@example.com")


async def test_a_supervisor_reads_and_finds_the_transcripts_of_its_queues_only(sb):
    await sb.queue("other")
    await sb.queue("support", accept_mode="auto")
    alice = await sb.available_agent("alice", queues=["support"])
    _, started = await sb.chat("support", text="my order is late")
    cid = started["conversation_id"]
    await alice.expect("conversation.assigned", conversation_id=cid)
    readers = {
        "sue": (await sb.agent("sue", role="supervisor", queues=["support"]), 200),
        "oscar": (await sb.agent("oscar", role="supervisor", queues=["other"]), 403),
        "bob": (await sb.agent("bob", queues=["support"]), 403),  # a colleague is no supervisor
    }
    for who, (token, expected) in readers.items():
        async with bearer(sb, token) as http:
            answer = await http.get(f"/api/v1/conversations/{cid}")
            assert answer.status_code == expected, (who, answer.text)
            assert ("my order is late" in answer.text) == (expected == 200), who
    async with bearer(sb, readers["sue"][0]) as sue:
        assert (await sue.get("/api/v1/conversations/c_AAAAAAAAAAAAAAAAAAAAAA")).status_code == 404
    # And searching: the conversations of its queues, not of others.
    await sb.archive_caught_up()
    for who, (token, expected) in readers.items():
        async with bearer(sb, token) as http:
            listed = await http.get("/api/v1/conversations", params={"q": "order"})
            assert listed.status_code == 200, (who, listed.text)
            found = [c["conversation_id"] for c in listed.json()["conversations"]]
            assert found == ([cid] if expected == 200 else []), who
