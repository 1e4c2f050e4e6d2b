"""`GET /api/v1/transfer-targets`: the queues and agents the desk's transfer and
conference dialogs offer, with whether each agent can take a conversation now."""

from __future__ import annotations

import httpx


async def test_an_agent_sees_queues_and_the_other_agents_free_ones_first(sb):
    await sb.queue("support")
    await sb.queue("billing", name="Billing")
    alice = await sb.agent("alice")
    await sb.available_agent("bob", capacity=1)
    zoe = await sb.available_agent("zoe", queues=["billing"])
    await sb.agent_socket(await sb.agent("carl"))  # connected, not ready
    await sb.agent("dora")  # never connected
    await zoe.ok({"type": "set_state", "state": "available"})

    async def get(token: str) -> httpx.Response:
        return await sb.http.get("/api/v1/transfer-targets", headers={"Authorization": f"Bearer {token}"})

    answer = await get(alice)
    assert answer.status_code == 200
    body = answer.json()
    assert [(q["id"], q["name"]) for q in body["queues"]] == [("billing", "Billing"), ("support", "Support")]
    agents = {a["id"]: a for a in body["agents"]}
    assert "alice" not in agents  # not itself
    assert [a["id"] for a in body["agents"]] == ["bob", "zoe", "carl", "dora"]
    assert agents["bob"] == {
        "id": "bob",
        "display_name": "Bob",
        "state": "available",
        "role": "agent",
        "queues": ["support"],
        "sessions": 0,
        "capacity": 1,
        "free": True,
    }
    assert agents["zoe"]["queues"] == ["billing"] and agents["zoe"]["free"] is True
    assert (agents["carl"]["state"], agents["carl"]["free"]) == ("not_ready", False)
    assert (agents["dora"]["state"], agents["dora"]["free"]) == ("offline", False)

    # bob takes a chat and is full: still listed, not free
    await sb.chat()
    body = await sb.admin("GET", "/api/v1/transfer-targets")
    listed = {a["id"]: a for a in body["agents"]}
    assert "alice" in listed  # the admin sees everyone
    assert listed["bob"]["sessions"] == 1 and listed["bob"]["free"] is False

    assert (await get("nonsense")).status_code == 401
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        assert (await anonymous.get("/api/v1/transfer-targets")).status_code == 401
