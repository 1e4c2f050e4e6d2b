"""Who may connect and what a client may see."""

from __future__ import annotations

import httpx
import pytest
import websockets

from support import Client


async def test_disallowed_origin_is_refused_with_403(make_deployment):
    sb = await make_deployment(allowed_origins=("https://shop.example",))
    await sb.queue("support")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            sb.node.customer_url, origin="https://evil.example", subprotocols=["switchboard.v1.json"]
        )
    assert refused.value.response.status_code == 403
    ws = await websockets.connect(
        sb.node.customer_url, origin="https://shop.example", subprotocols=["switchboard.v1.json"]
    )
    client = Client(ws, binary=False)
    await client.send({"type": "hello"})
    assert (await client.expect("welcome"))["visitor_id"]
    await client.close()


async def test_tokens_of_a_deleted_agent_stay_dead_when_the_id_is_reused(sb):
    old_token = await sb.agent("alice")
    await sb.admin("DELETE", "/api/v1/agents/alice", expect=204)
    await sb.agent("alice")
    ws = await websockets.connect(sb.node.agent_url, subprotocols=["switchboard.v1.json"])
    client = Client(ws, binary=False)
    await client.send({"type": "hello", "token": old_token})
    assert (await client.closed())[0] == 4401


async def test_a_closed_webchat_is_not_offered_again_in_welcome(sb):
    customer, welcome = await sb.customer()
    await customer.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    await customer.ok({"type": "end_chat"})
    again, second = await sb.customer(visitor_token=welcome["visitor_token"])
    assert second["conversation"] is None
    answer = await again.request({"type": "message", "text": "hello?"})
    assert answer["code"] == "conflict"
    await again.ok({"type": "start_chat", "queue": "support", "text": "new chat"})


async def test_unknown_paths_answer_in_the_error_shape(sb):
    response = await sb.http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_deleting_a_queue_with_members_is_refused(sb):
    await sb.agent("alice")
    answer = await sb.admin("DELETE", "/api/v1/queues/support", expect=409)
    assert "alice" in answer["error"]["message"]


async def test_a_supervisors_session_reads_the_statistics_of_its_queues_only(sb):
    await sb.queue("billing")
    body = {"email": "sue@example.com", "name": "Sue", "role": "supervisor", "queues": ["billing"]}
    await sb.admin("POST", "/api/v1/users", {**body, "password": "a long enough password"}, expect=201)
    agent = {"email": "al@example.com", "name": "Al", "role": "agent", "queues": ["billing"]}
    await sb.admin("POST", "/api/v1/users", {**agent, "password": "a long enough password"}, expect=201)
    for email, mine in (("sue@example.com", 200), ("al@example.com", 403)):
        async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as browser:
            signed_in = await browser.post(
                "/api/v1/auth/login", json={"email": email, "password": "a long enough password"}
            )
            assert signed_in.status_code == 200
            answer = await browser.get("/api/v1/stats")
            assert answer.status_code == mine, (email, answer.text)
            if mine == 200:
                assert [q["id"] for q in answer.json()["queues"]] == ["billing"]
                assert (await browser.get("/api/v1/stats", params={"queue": "support"})).status_code == 403
    # A read-scoped key reads every queue's, as the admin does.
    key = (await sb.admin("POST", "/api/v1/api-keys", {"name": "wallboard", "scope": "read"}, expect=201))["key"]
    async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {key}"}) as wallboard:
        answer = await wallboard.get("/api/v1/stats")
        assert answer.status_code == 200 and {q["id"] for q in answer.json()["queues"]} == {"support", "billing"}
