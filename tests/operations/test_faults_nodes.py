"""Gateway nodes are disposable: three `switchboard serve` processes on one
Redis serve every feature across nodes; a node killed with -9 or stopped with
SIGTERM loses nothing, and its clients resume on another node."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from conftest import ADMIN_TOKEN
from processes import ServerProcess, processes  # noqa: F401 (a fixture)
from support import Client, eventually

pytestmark = pytest.mark.slow


class Admin:
    """The HTTP API of a deployment, through any of its nodes."""

    def __init__(self, node: ServerProcess) -> None:
        self.http = httpx.AsyncClient(
            base_url=node.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10
        )

    async def __call__(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, path, json=body)
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return response.json()

    async def agent(self, aid: str, queues: list[str], **config: Any) -> str:
        await self(
            "PUT",
            f"/api/v1/agents/{aid}",
            {"display_name": aid.title(), "languages": ["en"], "queues": queues, **config},
        )
        return (await self("POST", f"/api/v1/agents/{aid}/token"))["token"]


async def started(processes, count: int, redis_url: str, **env: str) -> list[ServerProcess]:
    nodes = [
        processes(redis_url=redis_url, env={f"SWITCHBOARD_{k.upper()}": v for k, v in env.items()})
        for _ in range(count)
    ]
    await asyncio.gather(*(node.start() for node in nodes))
    return nodes


async def available(node: ServerProcess, token: str) -> Client:
    agent, _ = await node.agent(token)
    await agent.ok({"type": "set_state", "state": "available"})
    return agent


async def accepted(agent: Client, customer: Client, cid: str) -> None:
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.expect("conversation.assigned", conversation_id=cid)


def texts(detail: dict[str, Any]) -> list[str]:
    """The customers' and agents' messages of a conversation, in order."""
    return [m["text"] for m in detail["messages"] if m["from"]["role"] != "system"]


def seqs(*clients: Client) -> list[int]:
    return [f["seq"] for c in clients for f in c.frames if "seq" in f and f.get("type") != "ack"]


async def test_every_feature_works_between_sockets_on_three_nodes(processes, redis_url):
    a, b, c = await started(processes, 3, redis_url)
    admin = Admin(a)
    await admin("PUT", "/api/v1/queues/support", {"name": "Support"})
    await admin("PUT", "/api/v1/queues/billing", {"name": "Billing"})
    alice = await available(b, await admin.agent("alice", ["support"]))
    bob = await available(c, await admin.agent("bob", ["support"]))
    carol = await available(a, await admin.agent("carol", ["billing"]))
    await bob.ok({"type": "set_state", "state": "not_ready"})

    customer, _ = await a.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": "hi from node A"}))["conversation_id"]
    await accepted(alice, customer, cid)  # an offer from A's customer to B's agent
    assert (await customer.expect("chat.connected"))["agent"]["id"] == "alice"
    await alice.ok({"type": "message", "conversation_id": cid, "text": "hello from node B"})
    await customer.expect("message", text="hello from node B")
    await customer.ok({"type": "message", "text": "and back to B"})
    await alice.expect("message", text="and back to B")

    # a conference with an agent on node C: all three hear each other
    await bob.ok({"type": "set_state", "state": "available"})
    await alice.ok({"type": "conference", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", kind="conference")
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.expect("conversation.assigned", conversation_id=cid)
    await bob.ok({"type": "message", "conversation_id": cid, "text": "bob from node C"})
    await customer.expect("message", text="bob from node C")
    await alice.expect("message", text="bob from node C")
    await bob.ok({"type": "leave", "conversation_id": cid})

    # a cold transfer to a queue whose agent is on node A
    await alice.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    await customer.expect("chat.transferred")
    await accepted(carol, customer, cid)
    assert (await customer.expect("chat.connected"))["agent"]["id"] == "carol"
    await customer.ok({"type": "message", "text": "for carol"})
    await carol.expect("message", text="for carol")
    await carol.ok({"type": "end_session", "conversation_id": cid})
    await customer.expect("chat.ended")
    await carol.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})

    detail = await admin("GET", f"/api/v1/conversations/{cid}")
    assert texts(detail) == ["hi from node A", "hello from node B", "and back to B", "bob from node C", "for carol"]
    for client in (customer, alice, bob, carol):
        await client.close()
    await admin.http.aclose()
    assert [node.stop() for node in (a, b, c)] == [0, 0, 0]


async def test_a_killed_node_s_clients_resume_elsewhere_and_its_timers_run_on(processes, redis_url):
    # Short timers, the same on every node (each script uses the values of the node that runs it).
    doomed, b, c = await started(
        processes, 3, redis_url, node_ttl_s="2", disconnect_grace_s="3", inactivity_timeout_s="8"
    )
    admin = Admin(b)
    await admin("PUT", "/api/v1/queues/support", {"name": "Support", "wrap_up_timeout_s": 1})
    await admin("PUT", "/api/v1/queues/ring", {"name": "Ring", "offer_timeout_s": 1})
    alice_token = await admin.agent("alice", ["support"], capacity=1)
    alice = await available(doomed, alice_token)
    bob = await available(doomed, await admin.agent("bob", ["support"], capacity=1))
    carol = await available(doomed, await admin.agent("carol", ["ring"]))
    dave, _ = await c.agent(await admin.agent("dave", ["ring"]))  # not ready yet

    # alice and her customer both on the doomed node, in the middle of a chat
    customer, welcome = await doomed.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": "one"}))["conversation_id"]
    await accepted(alice, customer, cid)
    await alice.ok({"type": "message", "conversation_id": cid, "text": "two"})
    await customer.expect("message", text="two")
    # bob's customer is on a surviving node; bob will not come back
    left_alone, _ = await b.customer()
    bob_cid = (await left_alone.ok({"type": "start_chat", "queue": "support", "text": "bob?"}))["conversation_id"]
    await accepted(bob, left_alone, bob_cid)
    # an offer ringing at carol's desk on the doomed node
    ringing, _ = await c.customer()
    ring_cid = (await ringing.ok({"type": "start_chat", "queue": "ring", "text": "ring ring"}))["conversation_id"]
    await carol.expect("offer", conversation_id=ring_cid)

    await customer.send({"type": "message", "text": "three", "client_msg_id": "m3"})  # no ack awaited
    doomed.kill()
    # A client resumes once it has seen its socket drop; frames still in flight to the
    # old socket arrive before that, so the resume point below counts them.
    await customer.closed()
    await alice.closed()

    # The customer and alice come back through other nodes and resume by seq.
    last = max(seqs(customer))
    customer2, again = await b.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": last}
    )
    assert again["recovered"] is True
    # sent again with the same client_msg_id: stored once whether or not the first arrived
    await customer2.ok({"type": "message", "text": "three", "client_msg_id": "m3"})
    alice2, desk = await c.agent(alice_token, resume={cid: max(seqs(alice), default=0)})
    assert desk["state"]["state"] == "available", "back within the grace: no logout"

    # "three" reaches alice once: before the kill on her old socket, or now by
    # the resume's replay or the resent message's push
    async def alice_has_three() -> bool:
        return any(f.get("type") == "message" and f.get("text") == "three" for f in [*alice.frames, *alice2.frames])

    await eventually(alice_has_three, timeout=5)
    await alice2.ok({"type": "message", "conversation_id": cid, "text": "four"})
    await customer2.expect("message", text="four")
    for client in (customer, customer2), (alice, alice2):
        numbers = seqs(*client)
        assert len(numbers) == len(set(numbers)), f"an event was delivered twice: {numbers}"

    # bob's node is declared lost: he gets the grace (not offline at once), then is logged out
    async def bob_disconnected():
        return (await admin("GET", "/api/v1/agents/bob"))["connected"] is False

    await eventually(bob_disconnected, timeout=6)
    assert (await admin("GET", "/api/v1/agents/bob"))["state"] != "offline"
    assert (await left_alone.expect("chat.participant_left", timeout=10))["agent"]["id"] == "bob"
    assert (await admin("GET", "/api/v1/agents/bob"))["state"] == "offline"

    # carol's offer rang out (RONA, 1 s, before her node counts as lost at 2 s): a
    # surviving node ran that timer, and the chat goes to dave on node C
    await dave.ok({"type": "set_state", "state": "available"})
    offer = await dave.expect("offer", conversation_id=ring_cid, timeout=8)
    await dave.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await ringing.expect("chat.connected")
    events = (await admin("GET", "/api/v1/events?limit=1000"))["events"]
    assert any(e["type"] == "session.rona" and e["agent"] == "carol" for e in events)

    # alice's chat ends for inactivity, and her wrap-up times out: both timers run on B and C
    ended = await customer2.expect("chat.ended", timeout=12)
    assert ended["reason"] == "inactivity_timeout"
    closed = await alice2.expect("conversation.closed", conversation_id=cid, timeout=5)
    assert closed["wrap_up"]["code"] is None

    detail = await admin("GET", f"/api/v1/conversations/{cid}")
    assert texts(detail) == ["one", "two", "three", "four"]
    for client in (customer2, alice2, dave, left_alone, ringing):
        await client.close()
    await admin.http.aclose()


async def test_sigterm_closes_sockets_with_1001_answers_what_it_was_doing_and_exits_in_time(processes, redis_url):
    leaving, staying = await started(processes, 2, redis_url, shutdown_drain_s="2")
    admin = Admin(staying)
    await admin("PUT", "/api/v1/queues/support", {"name": "Support"})
    token = await admin.agent("alice", ["support"])
    alice = await available(leaving, token)
    customer, welcome = await leaving.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": "one"}))["conversation_id"]
    await accepted(alice, customer, cid)
    await customer.expect("chat.connected")
    # an event stream that never ends by itself: the drain bound still holds
    events = httpx.AsyncClient(base_url=leaving.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    stream = await events.send(events.build_request("GET", "/api/v1/events/stream"), stream=True)
    assert stream.status_code == 200

    await customer.send({"type": "message", "text": "two", "ref": "last-words"})
    began = time.monotonic()
    leaving.terminate()
    assert await customer.closed(timeout=5) == (1001, "server shutting down")
    assert await alice.closed(timeout=5) == (1001, "server shutting down")
    assert await asyncio.to_thread(leaving.wait, 10) == 0
    assert time.monotonic() - began < 2 + 3, "the process outlived its drain bound"
    acked = [f for f in customer.frames if f.get("ref") == "last-words"]
    await stream.aclose()
    await events.aclose()

    # Both resume on the other node; whatever was acknowledged is there, once.
    customer2, again = await staying.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": max(seqs(customer))}
    )
    assert again["recovered"] is True
    # alice may have had no event with a seq yet ("two" may not have reached her): then from the start
    alice2, desk = await staying.agent(token, resume={cid: max(seqs(alice), default=0)})
    assert desk["state"]["state"] == "available" and [c["conversation_id"] for c in desk["conversations"]] == [cid]
    stored = texts(await admin("GET", f"/api/v1/conversations/{cid}"))
    if acked and acked[0]["type"] == "ack":
        assert stored == ["one", "two"]
    else:
        assert stored in (["one"], ["one", "two"])
    await customer2.ok({"type": "message", "text": "three"})
    await alice2.expect("message", text="three")
    for client in (customer2, alice2):
        await client.close()
    await admin.http.aclose()
