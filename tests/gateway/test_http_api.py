"""The HTTP API under /api/v1, health and metrics: black box over a real node and a real Redis.

Every figure that the API reports "live" is checked against what real sockets do:
a customer that waits, an agent that goes available, a chat that ends and is wrapped up.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import websockets

from conftest import ADMIN_TOKEN

DEADLINE = 5.0

from support import eventually  # noqa: E402


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`status` with the contract's error body `{"error": {"code", "message"}}`."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, body
    assert isinstance(error["message"], str) and error["message"], body
    return error


async def chat_to_wrap_up(sb: Any) -> dict[str, Any]:
    """alice serves one chat from start to wrap-up, with a note; returns what happened."""
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Where is my parcel?", customer={"name": "Bob"})
    cid = started["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.expect("conversation.assigned", conversation_id=cid)
    await customer.expect("chat.connected")
    await agent.ok({"type": "message", "conversation_id": cid, "text": "Checking now"})
    await agent.ok({"type": "note", "conversation_id": cid, "text": "customer sounds upset"})
    await customer.ok({"type": "message", "text": "Thank you"})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.expect("chat.ended", conversation_id=cid)
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "tracking sent"})
    await agent.expect("conversation.closed", conversation_id=cid)
    return {"conversation_id": cid, "session_id": started["session_id"], "agent": agent, "customer": customer}


# ---------------------------------------------------------------- queues


async def test_put_queue_fills_in_defaults_and_get_returns_it(sb):
    response = await sb.http.put("/api/v1/queues/billing", json={"name": "Billing"})
    assert response.status_code in (200, 201), response.text
    queue = response.json()
    assert queue["id"] == "billing"
    assert queue["name"] == "Billing"
    assert queue["skills"] == [] and queue["languages"] == []
    assert queue["accept_mode"] == "manual"
    assert queue["offer_timeout_s"] == 20
    assert queue["wrap_up_timeout_s"] == 120
    assert queue.get("max_wait_s") is None
    assert queue["priority"] == 0
    assert queue["steps"] == []
    codes = queue["wrap_up_codes"]
    assert isinstance(codes, list) and codes, queue
    assert all(set(c) >= {"code", "label"} for c in codes), codes
    assert queue["waiting"] == 0 and queue["longest_wait_ms"] == 0 and queue["agents_available"] == 0

    got = await sb.admin("GET", "/api/v1/queues/billing")
    assert got == queue

    listed = await sb.admin("GET", "/api/v1/queues")
    ids = [q["id"] for q in listed["queues"]]
    assert sorted(ids) == ["billing", "support"]


async def test_put_queue_keeps_given_values_and_replaces_on_second_put(sb):
    body = {
        "name": "VIP",
        "skills": ["vip"],
        "languages": ["en", "fr"],
        "accept_mode": "auto",
        "offer_timeout_s": 7,
        "wrap_up_timeout_s": 30,
        "max_wait_s": 600,
        "priority": 5,
        "wrap_up_codes": [{"code": "sold", "label": "Sold"}],
        "steps": [{"after_s": 30, "skills": []}],
    }
    queue = await sb.admin("PUT", "/api/v1/queues/vip", body, expect=None)
    for key, value in body.items():
        assert queue[key] == value, (key, queue)

    await sb.admin("PUT", "/api/v1/queues/vip", {"name": "Very Important"}, expect=None)
    replaced = await sb.admin("GET", "/api/v1/queues/vip")
    assert replaced["name"] == "Very Important"
    assert replaced["accept_mode"] == "manual" and replaced["priority"] == 0 and replaced["skills"] == []


async def test_queue_live_figures_follow_waiting_customers_and_available_agents(sb):
    async def support() -> dict[str, Any]:
        return await sb.admin("GET", "/api/v1/queues/support")

    queue = await support()
    assert (queue["waiting"], queue["longest_wait_ms"], queue["agents_available"]) == (0, 0, 0)

    customer, started = await sb.chat(text="Anyone there?")
    await customer.expect("chat.queued")
    queue = await support()
    assert queue["waiting"] == 1 and queue["agents_available"] == 0
    # The longest wait grows while the customer waits.
    first = queue["longest_wait_ms"]
    assert first >= 0
    await eventually(lambda: _grown(support, first))

    # A connected agent that is not yet available does not count.
    token = await sb.agent("alice")
    agent, welcome = await sb.agent_socket(token)
    assert welcome["state"]["state"] == "not_ready"
    queue = await support()
    assert queue["agents_available"] == 0 and queue["waiting"] == 1

    # Going available: counted, and the waiting customer is offered to it (no longer waiting).
    await agent.ok({"type": "set_state", "state": "available"})
    await agent.expect("offer", conversation_id=started["conversation_id"])
    queue = await support()
    assert queue["agents_available"] == 1
    assert queue["waiting"] == 0 and queue["longest_wait_ms"] == 0

    await agent.ok({"type": "set_state", "state": "not_ready", "reason": "break"})
    queue = await support()
    assert queue["agents_available"] == 0


async def _grown(probe: Callable[[], Awaitable[dict[str, Any]]], than: int) -> bool:
    return (await probe())["longest_wait_ms"] > than


async def test_delete_queue_with_waiting_sessions_is_409_then_deletes_once_empty(sb):
    customer, _ = await sb.chat(text="Hello")
    await customer.expect("chat.queued")

    response = await sb.http.delete("/api/v1/queues/support")
    assert_error(response, 409, "conflict")
    assert (await sb.admin("GET", "/api/v1/queues/support"))["waiting"] == 1

    await customer.ok({"type": "end_chat"})
    response = await sb.http.delete("/api/v1/queues/support")
    assert response.status_code in (200, 204), response.text
    assert_error(await sb.http.get("/api/v1/queues/support"), 404, "not_found")
    listed = await sb.admin("GET", "/api/v1/queues")
    assert [q["id"] for q in listed["queues"]] == []


async def test_delete_queue_without_sessions(sb):
    await sb.queue("empty")
    response = await sb.http.delete("/api/v1/queues/empty")
    assert response.status_code in (200, 204), response.text
    assert_error(await sb.http.get("/api/v1/queues/empty"), 404, "not_found")


# ---------------------------------------------------------------- agents


async def test_put_get_agent_with_defaults_and_live_state(sb):
    body = {"display_name": "Alice", "languages": ["en", "de"], "queues": ["support"]}
    response = await sb.http.put("/api/v1/agents/alice", json=body)
    assert response.status_code in (200, 201), response.text
    agent = response.json()
    assert agent["id"] == "alice" and agent["display_name"] == "Alice"
    assert agent["role"] == "agent" and agent["capacity"] == 3 and agent["skills"] == []
    assert agent["languages"] == ["en", "de"] and agent["queues"] == ["support"]
    assert agent["state"] == "offline"

    async def state() -> dict[str, Any]:
        return await sb.admin("GET", "/api/v1/agents/alice")

    assert (await state())["state"] == "offline"
    listed = await sb.admin("GET", "/api/v1/agents")
    assert [a["id"] for a in listed["agents"]] == ["alice"]
    assert listed["agents"][0]["state"] == "offline"

    token = (await sb.admin("POST", "/api/v1/agents/alice/token"))["token"]
    socket, welcome = await sb.agent_socket(token)
    assert welcome["agent"]["id"] == "alice"
    assert (await state())["state"] == "not_ready"

    await socket.ok({"type": "set_state", "state": "available"})
    assert (await state())["state"] == "available"

    await socket.ok({"type": "set_state", "state": "not_ready", "reason": "lunch"})
    view = await state()
    assert view["state"] == "not_ready" and view.get("reason") == "lunch"

    # A second PUT replaces the profile and keeps the live state.
    response = await sb.http.put(
        "/api/v1/agents/alice", json={**body, "display_name": "Alice B.", "capacity": 5, "role": "supervisor"}
    )
    assert response.status_code in (200, 201), response.text
    view = await state()
    assert view["display_name"] == "Alice B." and view["capacity"] == 5 and view["role"] == "supervisor"
    assert view["state"] == "not_ready"


async def test_agent_with_unknown_queue_is_400(sb):
    response = await sb.http.put(
        "/api/v1/agents/alice", json={"display_name": "Alice", "languages": ["en"], "queues": ["support", "nowhere"]}
    )
    assert_error(response, 400, "bad_request")
    assert_error(await sb.http.get("/api/v1/agents/alice"), 404, "not_found")


async def test_agent_token_opens_the_agent_socket(sb):
    await sb.admin(
        "PUT",
        "/api/v1/agents/carol",
        {"display_name": "Carol", "languages": ["en"], "queues": ["support"]},
        expect=None,
    )
    issued = await sb.admin("POST", "/api/v1/agents/carol/token")
    assert isinstance(issued["token"], str) and issued["token"]
    socket, welcome = await sb.agent_socket(issued["token"])
    assert welcome["type"] == "welcome"
    assert welcome["agent"]["id"] == "carol" and welcome["agent"]["display_name"] == "Carol"
    assert welcome["state"]["state"] == "not_ready"
    assert welcome["conversations"] == [] and welcome["offers"] == []
    # The socket works: a command is acknowledged.
    answer = await socket.ok({"type": "set_state", "state": "available"})
    assert answer["state"] == "available"


async def test_delete_agent(sb):
    token = await sb.agent("dave")
    response = await sb.http.delete("/api/v1/agents/dave")
    assert response.status_code in (200, 204), response.text
    assert_error(await sb.http.get("/api/v1/agents/dave"), 404, "not_found")
    assert_error(await sb.http.post("/api/v1/agents/dave/token"), 404, "not_found")
    assert (await sb.admin("GET", "/api/v1/agents"))["agents"] == []
    # The deleted agent's token no longer opens a socket.
    async with websockets.connect(sb.node.agent_url, subprotocols=["switchboard.v1.json"]) as ws:
        await ws.send(f'{{"type": "hello", "token": "{token}"}}')
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), DEADLINE)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


UNKNOWN_ID_ROUTES = [
    ("GET", "/api/v1/queues/nope"),
    ("DELETE", "/api/v1/queues/nope"),
    ("GET", "/api/v1/agents/nope"),
    ("DELETE", "/api/v1/agents/nope"),
    ("POST", "/api/v1/agents/nope/token"),
    ("GET", "/api/v1/conversations/nope"),
]


async def test_unknown_ids_are_404(sb):
    bad = await failures({f"{m} {p}": refused(sb.http, m, p, None, 404, "not_found") for m, p in UNKNOWN_ID_ROUTES})
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- conversations


async def test_get_conversation_has_card_sessions_messages_and_notes(sb):
    done = await chat_to_wrap_up(sb)
    cid = done["conversation_id"]
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")

    card = detail["card"]
    assert card["conversation_id"] == cid and card["session_id"] == done["session_id"]
    assert card["status"] == "closed" and card["color"] == "gray" and card["status_label"] == "Resolved"
    assert card["title"] == "Webchat" and card["channel"] == "webchat" and card["icon"] == "chat"
    assert card["queue"] == {"id": "support", "name": "Support"}
    assert card["customer"]["name"] == "Bob" and card["customer"]["verified"] is False
    assert card["end_reason"] == "agent_ended"
    assert card["queued_at"] <= card["connected_at"] <= card["ended_at"]

    assert [s["session_id"] for s in detail["sessions"]] == [done["session_id"]]

    messages = detail["messages"]
    assert [m["text"] for m in messages] == ["Where is my parcel?", "Checking now", "Thank you"]
    assert [m["from"]["role"] for m in messages] == ["customer", "agent", "customer"]
    assert all(m["conversation_id"] == cid for m in messages)
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    notes = detail["notes"]
    assert [n["text"] for n in notes] == ["customer sounds upset"]
    assert notes[0]["from"]["id"] == "alice"


async def test_conversation_with_two_sessions_lists_both(sb):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="First")
    cid = started["conversation_id"]
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    await customer.ok({"type": "end_chat"})
    await customer.expect("chat.ended", reason="customer_ended")
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    # Writing after the end opens a new session of the same conversation.
    await customer.ok({"type": "message", "text": "One more thing"})
    detail = await eventually(lambda: _with_sessions(sb, cid, 2))
    assert detail["sessions"][0]["session_id"] == started["session_id"]
    assert detail["card"]["session_id"] == detail["sessions"][1]["session_id"] != started["session_id"]
    assert detail["card"]["status"] in ("waiting", "offered")
    assert [m["text"] for m in detail["messages"]] == ["First", "One more thing"]


async def _with_sessions(sb: Any, cid: str, count: int) -> dict[str, Any] | None:
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    return detail if len(detail["sessions"]) == count else None


# ---------------------------------------------------------------- events


async def all_events(sb: Any) -> list[dict[str, Any]]:
    page = await sb.admin("GET", "/api/v1/events?limit=1000")
    return page["events"]


async def test_events_of_a_chat_in_order_with_wait_and_handle_times(sb):
    done = await chat_to_wrap_up(sb)
    cid, sid = done["conversation_id"], done["session_id"]
    events = await all_events(sb)

    for event in events:
        assert isinstance(event["id"], str) and isinstance(event["type"], str) and isinstance(event["ts"], int), event

    session_events = [e for e in events if e.get("session_id") == sid]
    assert [e["type"] for e in session_events] == [
        "session.queued",
        "session.offered",
        "session.connected",
        "session.ended",
        "session.wrapped_up",
    ]
    queued, offered, connected, ended, wrapped = session_events
    for event in session_events:
        assert event["conversation_id"] == cid and event["queue"] == "support", event
    assert offered["agent"] == "alice" and connected["agent"] == "alice" and wrapped["agent"] == "alice"
    assert isinstance(connected["wait_ms"], int) and connected["wait_ms"] >= 0
    assert connected["wait_ms"] == connected["ts"] - queued["ts"]
    assert ended["reason"] == "agent_ended"
    assert isinstance(ended["handle_ms"], int) and ended["handle_ms"] >= 0
    assert ended["handle_ms"] == ended["ts"] - connected["ts"]
    assert wrapped["code"] == "resolved"
    timestamps = [e["ts"] for e in session_events]
    assert timestamps == sorted(timestamps)

    states = [e for e in events if e["type"] == "agent.state_changed"]
    assert states and all(e["agent"] == "alice" for e in states)
    assert [e["state"] for e in states][-1] == "available"
    # The agent became available before the chat was offered to it.
    assert events.index(states[-1]) < events.index(offered)

    ids = [e["id"] for e in events]
    assert len(set(ids)) == len(ids)


async def test_abandoned_session_ends_with_its_reason_and_no_handle_time(sb):
    customer, started = await sb.chat(text="Hello?")
    await customer.expect("chat.queued")
    await customer.ok({"type": "end_chat"})
    events = [e for e in await all_events(sb) if e.get("session_id") == started["session_id"]]
    assert [e["type"] for e in events] == ["session.queued", "session.ended"]
    ended = events[-1]
    assert ended["reason"] == "customer_abandoned"
    assert ended["conversation_id"] == started["conversation_id"] and ended["queue"] == "support"
    # Never connected: handle time (connected to ended) does not apply.
    assert "handle_ms" not in ended, ended


async def test_events_paging_with_after_and_limit_returns_the_rest_without_repeats(sb):
    await chat_to_wrap_up(sb)
    everything = await all_events(sb)
    assert len(everything) >= 7, everything

    # Small pages, following `next`, until an empty page.
    collected: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(len(everything) + 2):
        query = "/api/v1/events?limit=2" + (f"&after={after}" if after else "")
        page = await sb.admin("GET", query)
        assert len(page["events"]) <= 2
        if not page["events"]:
            break
        collected.extend(page["events"])
        assert page["next"] == page["events"][-1]["id"]
        after = page["next"]
    else:
        raise AssertionError("paging did not end")
    assert collected == everything

    # `after` an event returns exactly what follows it.
    for i in (0, 3, len(everything) - 1):
        page = await sb.admin("GET", f"/api/v1/events?after={everything[i]['id']}&limit=1000")
        assert page["events"] == everything[i + 1 :]

    # New events after the last page show up after the cursor, and only they.
    customer, started = await sb.chat(text="Again")
    await customer.expect("chat.queued")
    page = await sb.admin("GET", f"/api/v1/events?after={after}&limit=1000")
    assert [e["type"] for e in page["events"]][:1] == ["session.queued"]
    assert page["events"][0]["session_id"] == started["session_id"]
    assert not {e["id"] for e in page["events"]} & {e["id"] for e in everything}


async def test_events_limit_1_pages_one_at_a_time(sb):
    customer, _ = await sb.chat(text="Hi")
    await customer.expect("chat.queued")
    await customer.ok({"type": "end_chat"})
    first = await sb.admin("GET", "/api/v1/events?limit=1")
    assert [e["type"] for e in first["events"]] == ["session.queued"]
    second = await sb.admin("GET", f"/api/v1/events?limit=1&after={first['next']}")
    assert [e["type"] for e in second["events"]] == ["session.ended"]
    third = await sb.admin("GET", f"/api/v1/events?limit=1&after={second['next']}")
    assert third["events"] == []


# ---------------------------------------------------------------- authorization


async def failures(checks: dict[str, Awaitable[None]]) -> list[str]:
    """Runs the named checks concurrently; the names and messages of those that failed."""
    names = list(checks)
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    out = []
    for name, result in zip(names, results, strict=False):
        if isinstance(result, AssertionError):
            out.append(f"{name}: {str(result).splitlines()[0]}")
        elif isinstance(result, BaseException):
            raise result
    return out


async def refused(
    client: httpx.AsyncClient, method: str, path: str, body: Any, status: int, code: str, **kwargs: Any
) -> None:
    if isinstance(body, bytes):
        kwargs.update(content=body, headers={**kwargs.get("headers", {}), "Content-Type": "application/json"})
    elif body is not None:
        kwargs["json"] = body
    assert_error(await client.request(method, path, **kwargs), status, code)


#: The admin routes this node implements, with a valid body where one is needed.
ADMIN_ROUTES = [
    ("PUT", "/api/v1/queues/q1", {"name": "Q1"}),
    ("GET", "/api/v1/queues", None),
    ("GET", "/api/v1/queues/support", None),
    ("DELETE", "/api/v1/queues/support", None),
    ("PUT", "/api/v1/agents/a1", {"display_name": "A1", "languages": ["en"], "queues": ["support"]}),
    ("POST", "/api/v1/agents/a1/token", None),
    ("GET", "/api/v1/agents", None),
    ("GET", "/api/v1/agents/a1", None),
    ("DELETE", "/api/v1/agents/a1", None),
    ("GET", "/api/v1/conversations/c1", None),
    ("GET", "/api/v1/events", None),
]

#: The other admin routes of the contract's HTTP API table.
# GET /conversations (search), the canned responses and the invitation routes
# come with the desk (issue 3) and tracker (issue 4) work: add them to ADMIN_ROUTES then.

BAD_AUTH = {
    "missing": {},
    "wrong token": {"Authorization": "Bearer not-the-admin-token"},
    "bare scheme": {"Authorization": "Bearer"},
    "no scheme": {"Authorization": ADMIN_TOKEN},
    "basic scheme": {"Authorization": f"Basic {ADMIN_TOKEN}"},
    "token prefix": {"Authorization": f"Bearer {ADMIN_TOKEN[:-1]}"},
    "token suffix": {"Authorization": f"Bearer {ADMIN_TOKEN}x"},
}


async def _unauthorized_failures(sb: Any, routes: list[tuple[str, str, Any]]) -> list[str]:
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
        return await failures(
            {
                f"{method} {path} with {name} Authorization": refused(
                    anonymous, method, path, body, 401, "unauthorized", headers=headers
                )
                for method, path, body in routes
                for name, headers in BAD_AUTH.items()
            }
        )


async def test_admin_routes_without_a_valid_token_are_401(sb):
    await sb.agent("a1")
    bad = await _unauthorized_failures(sb, ADMIN_ROUTES)
    assert not bad, "\n".join(bad)
    # Nothing was changed by the refused requests.
    assert {q["id"] for q in (await sb.admin("GET", "/api/v1/queues"))["queues"]} == {"support"}
    assert {a["id"] for a in (await sb.admin("GET", "/api/v1/agents"))["agents"]} == {"a1"}


async def test_agent_token_is_not_an_admin_token(sb):
    token = await sb.agent("a1")
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as client:
        response = await client.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})
        assert_error(response, 401, "unauthorized")
        response = await client.put(
            "/api/v1/queues/q1", json={"name": "Q1"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code in (401, 403), response.text


# ---------------------------------------------------------------- bad input

BAD_QUEUE_BODIES = {
    "not json": b"{name: 'Support'",
    "empty body": b"",
    "array": b'[{"name": "Support"}]',
    "string": b'"Support"',
    "missing name": b"{}",
    "name not a string": b'{"name": 5}',
    "empty name": b'{"name": ""}',
    "unknown field": b'{"name": "Support", "colour": "red"}',
    "skills not a list": b'{"name": "Support", "skills": "vip"}',
    "accept_mode unknown": b'{"name": "Support", "accept_mode": "sometimes"}',
    "offer_timeout_s a string": b'{"name": "Support", "offer_timeout_s": "fast"}',
    "offer_timeout_s zero": b'{"name": "Support", "offer_timeout_s": 0}',
    "offer_timeout_s negative": b'{"name": "Support", "offer_timeout_s": -5}',
    "priority a string": b'{"name": "Support", "priority": "high"}',
    "wrap_up_codes without label": b'{"name": "Support", "wrap_up_codes": [{"code": "x"}]}',
    "wrap_up_codes empty": b'{"name": "Support", "wrap_up_codes": []}',
    "steps wrong type": b'{"name": "Support", "steps": [{"after_s": "soon"}]}',
}


async def test_bad_queue_bodies_are_400(sb):
    bad = await failures(
        {
            name: refused(sb.http, "PUT", f"/api/v1/queues/q{i}", body, 400, "bad_request")
            for i, (name, body) in enumerate(BAD_QUEUE_BODIES.items())
        }
    )
    assert not bad, "\n".join(bad)
    # None of them created a queue.
    assert {q["id"] for q in (await sb.admin("GET", "/api/v1/queues"))["queues"]} == {"support"}


GOOD_AGENT = {"display_name": "Alice", "languages": ["en"], "queues": ["support"]}
BAD_AGENT_BODIES = {
    "not json": b"display_name=Alice",
    "empty body": b"",
    "array": b"[]",
    "null": b"null",
    "missing display_name": b'{"languages": ["en"], "queues": ["support"]}',
    "missing languages": b'{"display_name": "Alice", "queues": ["support"]}',
    "missing queues": b'{"display_name": "Alice", "languages": ["en"]}',
    "display_name not a string": b'{"display_name": 1, "languages": ["en"], "queues": ["support"]}',
    "languages a string": b'{"display_name": "Alice", "languages": "en", "queues": ["support"]}',
    "queues a string": b'{"display_name": "Alice", "languages": ["en"], "queues": "support"}',
    "unknown field": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "admin": true}',
    "role unknown": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "role": "boss"}',
    "capacity 0": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "capacity": 0}',
    "capacity negative": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "capacity": -1}',
    "capacity a string": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "capacity": "3"}',
    "capacity a float": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "capacity": 2.5}',
    "skill with a space": b'{"display_name": "Alice", "languages": ["en"], "queues": ["support"], "skills": ["a b"]}',
}


async def test_bad_agent_bodies_are_400(sb):
    bad = await failures(
        {
            name: refused(sb.http, "PUT", f"/api/v1/agents/a{i}", body, 400, "bad_request")
            for i, (name, body) in enumerate(BAD_AGENT_BODIES.items())
        }
    )
    assert not bad, "\n".join(bad)
    # None of them created an agent.
    assert (await sb.admin("GET", "/api/v1/agents"))["agents"] == []


BAD_IDS = {"space": "a b", "65 characters": "x" * 65, "dollar": "a$b", "non-ASCII": "caf\u00e9"}
ID_ROUTES = [
    ("PUT", "/api/v1/queues/{}", {"name": "Q"}),
    ("GET", "/api/v1/queues/{}", None),
    ("DELETE", "/api/v1/queues/{}", None),
    ("PUT", "/api/v1/agents/{}", GOOD_AGENT),
    ("GET", "/api/v1/agents/{}", None),
    ("DELETE", "/api/v1/agents/{}", None),
    ("POST", "/api/v1/agents/{}/token", None),
    ("GET", "/api/v1/conversations/{}", None),
]


async def test_invalid_ids_in_the_path_are_400(sb):
    bad = await failures(
        {
            f"{method} {template.format(repr(bad_id))} ({name})": refused(
                sb.http, method, template.format(bad_id), body, 400, "bad_request"
            )
            for name, bad_id in BAD_IDS.items()
            for method, template, body in ID_ROUTES
        }
    )
    assert not bad, "\n".join(bad)
    assert {q["id"] for q in (await sb.admin("GET", "/api/v1/queues"))["queues"]} == {"support"}
    assert (await sb.admin("GET", "/api/v1/agents"))["agents"] == []


async def test_ids_of_64_characters_are_accepted(sb):
    qid, aid = "q" * 64, "a" * 64
    queue = await sb.admin("PUT", f"/api/v1/queues/{qid}", {"name": "Long"}, expect=None)
    assert queue["id"] == qid
    response = await sb.http.put(f"/api/v1/agents/{aid}", json={**GOOD_AGENT, "queues": [qid]})
    assert response.status_code in (200, 201), response.text
    assert (await sb.admin("GET", f"/api/v1/agents/{aid}"))["queues"] == [qid]
    assert (await sb.admin("POST", f"/api/v1/agents/{aid}/token"))["token"]


async def test_bad_events_queries_are_400(sb):
    queries = ["after=yesterday", "after=1-2-3", "limit=abc", "limit=0", "limit=-1", "limit=1.5"]
    bad = await failures({q: refused(sb.http, "GET", f"/api/v1/events?{q}", None, 400, "bad_request") for q in queries})
    assert not bad, "\n".join(bad)


# ---------------------------------------------------------------- health and metrics


async def test_health_and_readiness_need_no_token(sb):
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
        health = await anonymous.get("/healthz")
        assert health.status_code == 200, health.text
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text


METRIC_LINE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
    r"[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|NaN|\+Inf|-Inf|Inf)( -?\d+)?$"
)


async def test_metrics_answers_prometheus_text_without_token(sb):
    _customer, _ = await sb.customer()
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
        response = await anonymous.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    lines = [line for line in response.text.splitlines() if line.strip()]
    assert any(line.startswith("# TYPE ") for line in lines), response.text
    samples = [line for line in lines if not line.startswith("#")]
    assert samples, response.text
    for line in samples:
        assert METRIC_LINE.match(line), line
    # An independent parse of the exposition format.
    from prometheus_client.parser import text_string_to_metric_families

    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert families, response.text
