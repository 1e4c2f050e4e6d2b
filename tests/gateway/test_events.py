"""Lifecycle events: complete, with their fields, pageable and live (SSE); CSAT."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from conftest import ADMIN_TOKEN
from support import Client, eventually


async def all_events(sb) -> list[dict[str, Any]]:
    return (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]


async def served(sb, agent: Client, **start: Any) -> tuple[Client, str]:
    customer, started = await sb.chat(**start)
    offer = await agent.expect("offer", conversation_id=started["conversation_id"])
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    return customer, started["conversation_id"]


# ---------------------------------------------------------------- every type, with its fields


async def test_every_lifecycle_step_is_an_event_with_its_fields(sb):
    await sb.queue("billing")
    await sb.queue("quick", offer_timeout_s=0.3)
    alice = await sb.available_agent("alice")  # idle longest: offered first
    bob = await sb.available_agent("bob")
    carol = await sb.available_agent("carol", queues=["billing"])
    dave = await sb.available_agent("dave", queues=["quick"])

    customer, started = await sb.chat(text="first")
    cid = started["conversation_id"]
    offer = await alice.expect("offer", conversation_id=cid)
    await alice.ok({"type": "decline", "offer_id": offer["offer_id"]})
    offer = await bob.expect("offer", conversation_id=cid)
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.ok({"type": "conference", "conversation_id": cid, "agent": "alice"})
    invite = await alice.expect("offer", kind="conference")
    await alice.ok({"type": "accept", "offer_id": invite["offer_id"]})
    await alice.ok({"type": "leave", "conversation_id": cid})
    await bob.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    offer = await carol.expect("offer", conversation_id=cid, kind="transfer")
    await carol.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.ok({"type": "end_chat"})
    await carol.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await customer.expect("csat.requested")
    await customer.ok({"type": "csat", "rating": 4, "comment": "quick"})
    _, second = await sb.chat(queue="quick", text="second")
    await dave.expect("offer.revoked", reason="timeout")

    events = await all_events(sb)
    for e in events:
        assert {"id", "type", "ts"} <= e.keys()
    ours = [e for e in events if e.get("conversation_id") == cid]
    assert [(e["type"], e.get("agent")) for e in ours] == [
        ("session.queued", None),
        ("session.offered", "alice"),
        ("session.declined", "alice"),
        ("session.offered", "bob"),
        ("session.connected", "bob"),
        ("session.offered", "alice"),
        ("session.conference_started", "alice"),
        ("session.conference_ended", "alice"),
        ("session.transferred", "bob"),
        ("session.offered", "carol"),
        ("session.connected", "carol"),
        ("session.ended", "carol"),
        ("session.wrapped_up", "carol"),
        ("csat.submitted", "carol"),
    ]
    for e in ours:
        assert e["session_id"] == started["session_id"] and e["queue"] in ("support", "billing")
    by_type = {e["type"]: e for e in ours if not e.get("requeued")}
    connected = by_type["session.connected"]
    assert connected["wait_ms"] >= 0 and connected["agent"] == "bob"
    [again] = [e for e in ours if e.get("requeued")]
    assert again["agent"] == "carol" and 0 <= again["wait_ms"] <= again["ts"] - transferred_at(ours)
    ended = by_type["session.ended"]
    assert ended["reason"] == "customer_ended" and ended["handle_ms"] >= 0 and ended["wait_ms"] == connected["wait_ms"]
    assert by_type["session.wrapped_up"]["code"] == "resolved"
    transferred = by_type["session.transferred"]
    assert (transferred["from_queue"], transferred["queue"], transferred["kind"]) == ("support", "billing", "queue")
    assert by_type["session.conference_ended"]["reason"] == "left"
    rated = by_type["csat.submitted"]
    assert rated["rating"] == 4 and rated["comment"] == "quick"
    [rona] = [e for e in events if e["type"] == "session.rona"]
    assert (rona["agent"], rona["queue"], rona["conversation_id"]) == ("dave", "quick", second["conversation_id"])
    states = [(e["agent"], e["state"]) for e in events if e["type"] == "agent.state_changed"]
    assert ("dave", "available") in states and states[-1] == ("dave", "rona")
    # ids grow: the stream is the order of what happened
    ids = [tuple(map(int, e["id"].split("-"))) for e in events]
    assert ids == sorted(ids)


def transferred_at(events: list[dict[str, Any]]) -> int:
    return next(e["ts"] for e in events if e["type"] == "session.transferred")


# ---------------------------------------------------------------- live stream (SSE)


class EventStream:
    """A real SSE client over HTTP: reads `id`/`event`/`data` blocks as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> dict[str, Any]:
        block: dict[str, str] = {}
        async for line in self.lines:
            if line == "":
                if "data" in block:
                    return {"id": block.get("id"), "event": block.get("event"), "data": json.loads(block["data"])}
                block = {}
                continue
            if line.startswith(":"):
                continue  # keepalive comment
            name, _, value = line.partition(": ")
            block[name] = value
        raise AssertionError("the stream ended")


async def open_stream(sb, headers: dict[str, str] | None = None, query: str = "") -> tuple[httpx.AsyncClient, Any]:
    client = httpx.AsyncClient(
        base_url=sb.node.base, timeout=10, headers={"Authorization": f"Bearer {ADMIN_TOKEN}", **(headers or {})}
    )
    context = client.stream("GET", f"/api/v1/events/stream{query}")
    return client, context


async def test_events_stream_serves_new_events_live_and_resumes_with_last_event_id(sb):
    client, context = await open_stream(sb)
    async with client, context as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = EventStream(response)
        alice = await sb.available_agent("alice")
        first = await stream.next()
        assert first["event"] == "agent.state_changed" and first["data"]["agent"] == "alice"
        assert first["data"]["id"] == first["id"]
        await served(sb, alice)
        seen = [first]
        while seen[-1]["event"] != "session.connected":
            seen.append(await stream.next())
        assert [e["event"] for e in seen if e["event"].startswith("session.")] == [
            "session.queued",
            "session.offered",
            "session.connected",
        ]
        assert [e["data"]["state"] for e in seen if e["event"] == "agent.state_changed"] == ["not_ready", "available"]
    # the client was away while the chat ended; it resumes from the last id it got
    await alice.ok({"type": "end_session", "conversation_id": seen[-1]["data"]["conversation_id"]})
    client, context = await open_stream(sb, headers={"Last-Event-ID": seen[-1]["id"]})
    async with client, context as response:
        resumed = await EventStream(response).next()
        assert resumed["event"] == "session.ended" and resumed["data"]["reason"] == "agent_ended"


async def test_events_stream_filters_by_type(sb):
    client, context = await open_stream(sb, query="?types=session.ended,session.queued")
    async with client, context as response:
        stream = EventStream(response)
        await sb.available_agent("alice")  # agent.state_changed: filtered out
        customer, _ = await sb.chat()
        await customer.ok({"type": "end_chat"})
        assert [(await stream.next())["event"] for _ in range(2)] == ["session.queued", "session.ended"]


@pytest.mark.parametrize(
    "query, headers, status",
    [
        ("?types=session.nope", {}, 400),
        ("", {"Last-Event-ID": "yesterday"}, 400),
        ("", {"Authorization": "Bearer wrong"}, 401),
    ],
)
async def test_events_stream_refuses_bad_requests(sb, query, headers, status):
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=5) as client:
        response = await client.get(
            f"/api/v1/events/stream{query}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}", **headers}
        )
        assert response.status_code == status
        assert "error" in response.json()


# ---------------------------------------------------------------- CSAT


async def test_csat_is_asked_after_a_served_session_and_stored_once(sb):
    alice = await sb.available_agent("alice")
    customer, cid = await served(sb, alice)
    early = await customer.request({"type": "csat", "rating": 5})
    assert early["code"] == "conflict", "no survey while the session is open"
    await alice.ok({"type": "end_session", "conversation_id": cid})
    requested = await customer.expect("csat.requested")
    ack = await customer.ok({"type": "csat", "rating": 5, "comment": "great help"})
    assert ack["session_id"] == requested["session_id"] and ack["rating"] == 5
    again = await customer.request({"type": "csat", "rating": 1})
    assert again["code"] == "conflict"
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["csat"] == {"rating": 5, "comment": "great help"}
    [event] = [e for e in await all_events(sb) if e["type"] == "csat.submitted"]
    assert event["rating"] == 5 and event["agent"] == "alice" and event["session_id"] == requested["session_id"]
    assert (await customer.request({"type": "csat", "rating": 6}))["code"] == "bad_request"


async def test_no_survey_for_an_abandoned_chat_and_a_late_visitor_still_gets_the_question(sb):
    customer, _ = await sb.chat()
    await customer.ok({"type": "end_chat"})
    await customer.expect("chat.ended")
    assert customer.received("csat.requested") == []
    assert (await customer.request({"type": "csat", "rating": 3}))["code"] == "conflict"

    alice = await sb.available_agent("alice")
    customer, welcome = await sb.customer()
    started = await customer.ok({"type": "start_chat", "queue": "support", "channel": "messaging", "text": "hi"})
    cid = started["conversation_id"]
    offer = await alice.expect("offer", conversation_id=cid)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.close()
    await alice.ok({"type": "end_session", "conversation_id": cid})
    back, _ = await sb.customer(visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": 1})
    requested = await back.expect("csat.requested")
    assert requested["session_id"] == started["session_id"]
    await back.ok({"type": "csat", "rating": 2})


async def test_a_stream_resumed_from_before_redis_kept_gets_the_rest_from_postgresql(make_deployment, redis_url):
    sb = await make_deployment(live_retention_s=0.2)
    await sb.queue("support")
    customer, started = await sb.chat(text="hi")
    await customer.ok({"type": "end_chat"})
    redis = Redis.from_url(redis_url)
    keys = sb.node.services.router.keys

    async def trimmed() -> bool:
        return await redis.xlen(keys.events) == 0

    await eventually(trimmed)
    await redis.aclose()
    client, context = await open_stream(sb, headers={"Last-Event-ID": "0-0"})
    async with client, context as response:
        stream = EventStream(response)
        queued, ended = await stream.next(), await stream.next()
    assert (queued["event"], ended["event"]) == ("session.queued", "session.ended")
    assert queued["data"]["conversation_id"] == started["conversation_id"]
