"""Canned responses: the HTTP API over a real node and Redis, and the pure parts.

Admins write them; agents read them with the token they use for their socket, and
their desk fills the placeholders in with the reference `fill`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from switchboard.domain import canned
from switchboard.domain.canned import CannedBody, fill, placeholders
from switchboard.domain.errors import SwitchboardError
from switchboard.store.canned import CannedResponses
from switchboard.store.keys import Keys

BASE = "/api/v1/canned-responses"


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


def as_agent(sb: Any, token: str) -> httpx.AsyncClient:
    # latin-1, as HTTP carries header bytes: a non-ASCII token must be refused too, not crash
    header = f"Bearer {token}".encode("latin-1")
    return httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": header}, timeout=10)


async def put(sb: Any, rid: str, title: str, text: str, expect: int = 201) -> dict[str, Any]:
    return await sb.admin("PUT", f"{BASE}/{rid}", {"title": title, "text": text}, expect=expect)


# ---------------------------------------------------------------- the API


async def test_create_read_replace_list_and_delete(sb):
    created = await put(sb, "greeting", "Greeting", "Hello {customer.name}, this is {agent.display_name}.")
    assert set(created) == {"id", "title", "text", "placeholders", "updated_at"}
    assert created["id"] == "greeting"
    assert created["placeholders"] == ["customer.name", "agent.display_name"]
    assert isinstance(created["updated_at"], int) and created["updated_at"] > 1_600_000_000_000

    assert await sb.admin("GET", f"{BASE}/greeting") == created

    replaced = await put(sb, "greeting", "Greeting", "Good morning!", expect=200)
    assert replaced["text"] == "Good morning!" and replaced["placeholders"] == []
    assert replaced["updated_at"] >= created["updated_at"]
    assert await sb.admin("GET", f"{BASE}/greeting") == replaced

    await put(sb, "bye", "Closing", "Thank you for contacting {queue.name}.")
    await put(sb, "apology", "apology for the wait", "Sorry to keep you waiting.")
    listed = (await sb.admin("GET", BASE))["canned_responses"]
    assert [r["id"] for r in listed] == ["apology", "bye", "greeting"]  # by title, without case

    await sb.admin("DELETE", f"{BASE}/greeting", expect=204)
    assert_error(await sb.http.get(f"{BASE}/greeting"), 404, "not_found")
    assert_error(await sb.http.delete(f"{BASE}/greeting"), 404, "not_found")
    assert [r["id"] for r in (await sb.admin("GET", BASE))["canned_responses"]] == ["apology", "bye"]


async def test_q_needs_every_word_in_title_or_text_without_case(sb):
    await put(sb, "refund", "Refund policy", "Refunds take 5 working days.")
    await put(sb, "shipping", "Shipping times", "Parcels arrive within 3 days; refunds are separate.")
    await put(sb, "hello", "Greeting", "Hello {customer.name}!")

    async def found(q: str) -> list[str]:
        response = await sb.http.get(BASE, params={"q": q})
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["canned_responses"]]

    assert await found("REFUND") == ["refund", "shipping"]
    assert await found("refund policy") == ["refund"]  # both words
    assert await found("policy working") == ["refund"]  # one in the title, one in the text
    assert await found("ship parc") == ["shipping"]  # parts of words, as the agent types
    assert await found("refund greeting") == []
    assert await found("  ") == ["hello", "refund", "shipping"]
    assert_error(await sb.http.get(BASE, params={"q": "x" * 201}), 400, "bad_request")


async def test_an_agent_token_may_read_but_not_write(sb):
    await put(sb, "hello", "Greeting", "Hello!")
    token = await sb.agent("alice")
    async with as_agent(sb, token) as agent:
        listed = await agent.get(BASE, params={"q": "hello"})
        assert listed.status_code == 200 and [r["id"] for r in listed.json()["canned_responses"]] == ["hello"]
        one = await agent.get(f"{BASE}/hello")
        assert one.status_code == 200 and one.json()["text"] == "Hello!"
        assert_error(await agent.put(f"{BASE}/hello", json={"title": "X", "text": "changed"}), 403, "forbidden")
        assert_error(await agent.put(f"{BASE}/new", json={"title": "X", "text": "new"}), 403, "forbidden")
        assert_error(await agent.delete(f"{BASE}/hello"), 403, "forbidden")
        # the agent token opens nothing else of the admin API
        assert_error(await agent.get("/api/v1/queues"), 401, "unauthorized")
    assert (await sb.admin("GET", f"{BASE}/hello"))["text"] == "Hello!"
    assert [r["id"] for r in (await sb.admin("GET", BASE))["canned_responses"]] == ["hello"]


async def test_revoked_forged_and_missing_tokens_are_refused(sb):
    await put(sb, "hello", "Greeting", "Hello!")
    old = await sb.agent("alice")
    await sb.admin("DELETE", "/api/v1/agents/alice", expect=204)
    async with as_agent(sb, old) as agent:
        assert_error(await agent.get(BASE), 401, "unauthorized")  # the agent is gone
    await sb.agent("alice")  # the same id again: the old token stays dead
    prefix, payload, signature = old.split(".")
    forged = f"{prefix}.{payload}.{signature[:-2]}AA"
    for token in (old, forged, "a1.x.y", "not-a-token", "a1.é.é"):
        async with as_agent(sb, token) as agent:
            assert_error(await agent.get(BASE), 401, "unauthorized")
            assert_error(await agent.get(f"{BASE}/hello"), 401, "unauthorized")
            assert_error(await agent.put(f"{BASE}/hello", json={"title": "X", "text": "Y"}), 401, "unauthorized")
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        assert_error(await anonymous.get(BASE), 401, "unauthorized")
        assert_error(await anonymous.delete(f"{BASE}/hello"), 401, "unauthorized")


async def test_an_unknown_placeholder_is_refused_and_named(sb):
    message = assert_error(
        await sb.http.put(f"{BASE}/x", json={"title": "T", "text": "Dear {customer.nmae}, see {foo.bar}"}),
        400,
        "bad_request",
    )
    assert "{customer.nmae}" in message and "{foo.bar}" in message
    for known in canned.PLACEHOLDERS:
        assert "{" + known + "}" in message
    assert_error(await sb.http.get(f"{BASE}/x"), 404, "not_found")  # nothing was stored


async def test_placeholders_are_listed_once_in_order_and_other_braces_are_text(sb):
    text = '{agent.id}: {customer.email} / {customer.phone} / {customer.email} {queue.name} {json} {"a": 1}'
    created = await put(sb, "all", "All", text)
    assert created["placeholders"] == ["agent.id", "customer.email", "customer.phone", "queue.name"]
    assert created["text"] == text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "", "text": "x"}, "bad_request"),
        ({"title": "   ", "text": "x"}, "bad_request"),
        ({"title": "t" * 201, "text": "x"}, "too_long"),
        ({"title": "t", "text": ""}, "bad_request"),
        ({"title": "t", "text": "x" * 4001}, "too_long"),
        ({"title": "t"}, "bad_request"),
        ({"title": "t", "text": "x", "extra": 1}, "bad_request"),
        ({"title": 5, "text": "x"}, "bad_request"),
        ([], "bad_request"),
    ],
)
async def test_bad_bodies_are_refused(sb, body, code):
    assert_error(await sb.http.put(f"{BASE}/x", json=body), 400, code)


async def test_limits_are_inclusive_and_bad_ids_refused(sb):
    created = await put(sb, "long", "t" * 200, "é" * 4000)  # code points, not bytes
    assert len(created["text"]) == 4000
    assert_error(await sb.http.put(f"{BASE}/bad%20id", json={"title": "t", "text": "x"}), 400, "bad_request")
    assert_error(await sb.http.get(f"{BASE}/{'x' * 65}"), 400, "bad_request")
    assert_error(await sb.http.put(f"{BASE}/x", content=b"{not json"), 400, "bad_request")


# ---------------------------------------------------------------- the cap, in the store


@pytest.fixture
async def store(redis_url):
    redis = Redis.from_url(redis_url)
    yield CannedResponses(redis, Keys("unit"), cap=3)
    await redis.aclose()


async def test_the_cap_is_kept_also_by_concurrent_creations(store):
    results = await asyncio.gather(
        *(store.put(f"r{i}", CannedBody("T", "x")) for i in range(10)), return_exceptions=True
    )
    created = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, SwitchboardError)]
    assert len(created) == 3 and len(refused) == 7
    assert all(e.code == "conflict" and "3 canned responses" in e.message for e in refused)
    assert len(await store.search([])) == 3
    # replacing one is still allowed at the cap; after a delete there is room again
    kept = created[0][0]["id"]
    _, is_new = await store.put(kept, CannedBody("T", "changed"))
    assert is_new is False
    assert await store.delete(kept)
    _, is_new = await store.put("another", CannedBody("T", "x"))
    assert is_new is True


async def test_the_api_answers_409_beyond_the_cap(sb):
    sb.node.services.canned.cap = 2  # the real default (5000) would take thousands of requests
    await put(sb, "a", "A", "a")
    await put(sb, "b", "B", "b")
    message = assert_error(await sb.http.put(f"{BASE}/c", json={"title": "C", "text": "c"}), 409, "conflict")
    assert "2 canned responses" in message
    await put(sb, "a", "A", "again", expect=200)


# ---------------------------------------------------------------- the pure parts


def test_fill_replaces_known_placeholders_in_one_pass():
    text = "Hi {customer.name}, I am {agent.display_name} ({agent.id}) of {queue.name}. {customer.name}!"
    values = {"customer.name": "Bob", "agent.display_name": "Alice", "agent.id": "alice", "queue.name": "Support"}
    assert fill(text, values) == "Hi Bob, I am Alice (alice) of Support. Bob!"
    # no value: empty; a value that looks like a placeholder is not filled again
    assert fill("Call {customer.phone} now", {}) == "Call  now"
    assert fill("{customer.name}", {"customer.name": "{agent.id}", "agent.id": "x"}) == "{agent.id}"
    # unknown dotted names and other braces stay as they are
    assert fill('{foo.bar} {name} {"a": 1}', {"foo.bar": "no"}) == '{foo.bar} {name} {"a": 1}'


def test_placeholder_parsing():
    assert placeholders("no placeholders {here} { customer.name }") == []
    assert placeholders("{customer.name}{customer.name}{Customer.Name}") == ["customer.name", "Customer.Name"]


def test_matches_every_word_in_title_or_text():
    assert canned.matches(canned.query_words("Straße parcel"), "STRASSE", "A parcel") is True  # casefolded
    assert canned.matches(canned.query_words("parcel late"), "Parcel", "on its way") is False
    assert canned.matches([], "anything", "at all") is True
