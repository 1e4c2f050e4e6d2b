"""Webhooks: registration, signed deliveries of lifecycle events to a real HTTP
receiver, retries with backoff, dead letters and replay, isolation between
webhooks, and delivery taken over from a node that stopped or died."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
import standardwebhooks.webhooks

from local_server import LocalServer
from support import eventually
from switchboard.domain import webhooks as domain
from switchboard.settings import Settings
from switchboard.store.webhooks import GROUP

#: Short timeouts and backoff, no jitter: the tests wait for what they expect, with deadlines.
WEBHOOKS: dict[str, Any] = {
    "webhook_allow_private": True,  # the receivers here listen on 127.0.0.1
    "webhook_timeout_s": 1.0,
    "webhook_retry_base_s": 0.1,
    "webhook_retry_jitter": 0.0,
    "webhook_claim_idle_s": 0.5,
    "webhook_max_attempts": 4,
}
CHAT_TYPES = ["session.queued", "session.offered", "session.connected", "session.ended", "session.wrapped_up"]


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival
    status: int = 0  # what the receiver answered; 0 while it has not

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request. It can fail
    the first N requests, answer with a given status, answer slowly, or hold
    every request until `gate` is set."""

    fail_first: int = 0
    status: int = 200
    delay: float = 0.0
    gate: asyncio.Event | None = None
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = asyncio.Event()
        self._http = LocalServer(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}/hook"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Request({k.decode().lower(): v.decode() for k, v in scope["headers"]}, body, time.monotonic())
        self.requests.append(request)
        number = len(self.requests)
        self._changed.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)  # the receiver being slow, not the test waiting
        request.status = 500 if number <= self.fail_first else self.status
        await send(
            {
                "type": "http.response.start",
                "status": request.status,
                "headers": [(b"content-type", b"text/plain"), *self.extra_headers],
            }
        )
        await send({"type": "http.response.body", "body": b"thanks"})
        self._changed.set()

    async def start(self) -> Receiver:
        await self._http.start()
        return self

    async def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        await self._http.stop()

    async def until(self, predicate: Callable[[Receiver], Any], timeout: float = 5.0) -> Any:
        """Waits until `predicate(self)` is truthy, with a deadline; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate(self)
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(r.event.get("type"), r.status) for r in self.requests]
                raise AssertionError(f"receiver: condition not met within {timeout}s; requests: {seen}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def answered(self) -> list[Request]:
        return [r for r in self.requests if 200 <= r.status < 300]

    def events(self, **fields: Any) -> list[dict[str, Any]]:
        """Bodies of the requests answered with 2xx, in arrival order, matching `fields`."""
        return [e for e in (r.event for r in self.answered()) if all(e.get(k) == v for k, v in fields.items())]


@pytest.fixture
async def receivers():
    started: list[Receiver] = []

    async def factory(**behaviour: Any) -> Receiver:
        receiver = await Receiver(**behaviour).start()
        started.append(receiver)
        return receiver

    yield factory
    for receiver in started:
        await receiver.stop()


async def deployment(make_deployment: Any, **settings: Any) -> Any:
    sb = await make_deployment(**{**WEBHOOKS, **settings})
    await sb.queue("support")
    return sb


async def subscribe(sb: Any, receiver: Receiver, **fields: Any) -> dict[str, Any]:
    return await sb.admin("POST", "/api/v1/webhooks", {"url": receiver.url, **fields}, expect=201)


async def served_chat(sb: Any, agent: Any) -> str:
    """A chat from start to wrap-up: queued, offered, connected, ended, wrapped up."""
    _, ack = await sb.chat()
    cid = ack["conversation_id"]
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    return cid


# ---------------------------------------------------------------- pure parts


def test_signature_and_verification_are_standard_webhooks():
    body = b'{"id":"1-0","type":"session.queued"}'
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    sig = domain.signature(secret, "1-0.wh_1", 1700000000, body)
    expected = hmac.new(b"k" * 32, b"1-0.wh_1.1700000000." + body, hashlib.sha256).digest()
    assert sig == "v1," + base64.b64encode(expected).decode()
    assert domain.verify(secret, body, "1-0.wh_1", "1700000000", f"v1,bm9wZQ== {sig}", now=1700000100)
    assert not domain.verify(secret, body + b" ", "1-0.wh_1", "1700000000", sig, now=1700000100)
    assert not domain.verify(secret, body, "1-0.wh_2", "1700000000", sig, now=1700000100)
    assert not domain.verify(domain.new_secret(), body, "1-0.wh_1", "1700000000", sig, now=1700000100)
    assert not domain.verify(secret, body, "1-0.wh_1", "1700000000", sig, now=1700000000 + 301)
    assert not domain.verify(secret, body, "1-0.wh_1", "17e8", sig, now=1700000100)
    # the reference implementation agrees, both ways
    headers = {"webhook-id": "1-0.wh_1", "webhook-timestamp": "1700000000", "webhook-signature": sig}
    assert (
        standardwebhooks.Webhook(secret).sign("1-0.wh_1", datetime.fromtimestamp(1700000000, UTC), body.decode()) == sig
    )
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body, headers)  # too old for the library's clock: refused
    # a secret registered in the earlier form signs with its bytes: receivers give the library its base64
    legacy = "s3cret-s3cret-s3cret"
    legacy_sig = domain.signature(legacy, "1-0.wh_1", 1700000000, body)
    assert (
        standardwebhooks.Webhook(base64.b64encode(legacy.encode()).decode()).sign(
            "1-0.wh_1", datetime.fromtimestamp(1700000000, UTC), body.decode()
        )
        == legacy_sig
    )


@pytest.mark.parametrize(
    "secret",
    ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode(), "short", "with a\ttab in it 123"],
)
async def test_a_secret_that_is_not_one_is_refused(sb, secret):
    response = await sb.http.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": secret})
    assert response.status_code == 400 and "secret" in response.json()["error"]["message"]


def test_retry_schedule():
    delays = [domain.retry_delay_s(n, 1.0, 3600.0) for n in range(1, 15)]
    assert delays[:8] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert delays[-1] == 3600
    assert domain.retry_delay_s(3, 1.0, 3600.0, jitter=0.2, rand=0.5) == pytest.approx(4 * 0.9)
    assert domain.retry_delay_s(10_000, 1.0, 3600.0) == 3600


def test_settings_from_the_environment():
    settings = Settings.from_env(
        {
            "SWITCHBOARD_WEBHOOK_TIMEOUT_S": "2.5",
            "SWITCHBOARD_WEBHOOK_RETRY_BASE_S": "0.5",
            "SWITCHBOARD_WEBHOOK_RETRY_MAX_S": "600",
            "SWITCHBOARD_WEBHOOK_RETRY_JITTER": "0",
            "SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS": "3",
            "SWITCHBOARD_WEBHOOK_CLAIM_IDLE_S": "10",
        }
    )
    assert (settings.webhook_timeout_s, settings.webhook_retry_base_s, settings.webhook_retry_max_s) == (2.5, 0.5, 600)
    assert (settings.webhook_retry_jitter, settings.webhook_max_attempts, settings.webhook_claim_idle_s) == (0, 3, 10)
    defaults = Settings.from_env({})
    assert (defaults.webhook_timeout_s, defaults.webhook_retry_base_s, defaults.webhook_max_attempts) == (5, 1, 8)
    for name, value in (("SWITCHBOARD_WEBHOOK_RETRY_JITTER", "1.5"), ("SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS", "0")):
        with pytest.raises(SystemExit):
            Settings.from_env({name: value})


# ---------------------------------------------------------------- registration


async def test_register_list_get_delete_and_validation(make_deployment, receivers):
    sb = await deployment(make_deployment)
    receiver = await receivers()
    created = await subscribe(sb, receiver, events=["session.ended", "session.queued"], description="CRM")
    wid = created["id"]
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 32
    assert created["events"] == ["session.ended", "session.queued"]
    assert created["description"] == "CRM" and created["url"] == receiver.url
    assert created["pending"] == 0 and created["delivered"] == 0

    given = await subscribe(sb, receiver, secret="my-own-secret-of-some-length")
    assert given["secret"] == "my-own-secret-of-some-length" and given["events"] == []

    listed = (await sb.admin("GET", "/api/v1/webhooks"))["webhooks"]
    assert [w["id"] for w in listed] == [wid, given["id"]]
    one = await sb.admin("GET", f"/api/v1/webhooks/{wid}")
    assert "secret" not in one and all("secret" not in w for w in listed)
    for name in ("delivered", "failed", "pending", "dead", "dropped", "last_error", "last_status"):
        assert name in one

    async def refused(body: Any, status: int = 400) -> str:
        response = await sb.http.post("/api/v1/webhooks", json=body)
        assert response.status_code == status, response.text
        return response.json()["error"]["message"]

    assert "http" in await refused({"url": "ftp://example.com/hook"})
    assert "host" in await refused({"url": "http:///hook"})
    assert "2048" in await refused({"url": "https://example.com/" + "a" * 2048})
    assert "unknown event type: session.exploded" in await refused(
        {"url": receiver.url, "events": ["session.queued", "session.exploded"]}
    )
    await refused({"url": receiver.url, "events": "session.queued"})
    await refused({"url": receiver.url, "secret": "short"})
    await refused({"url": receiver.url, "colour": "blue"})
    await refused({"events": []})
    await refused([])

    no_token = await sb.http.post("/api/v1/webhooks", json={"url": receiver.url}, headers={"Authorization": ""})
    assert no_token.status_code == 401 and no_token.json()["error"]["code"] == "unauthorized"
    assert (await sb.http.get("/api/v1/webhooks", headers={"Authorization": "Bearer nope"})).status_code == 401

    sb.node.services.webhooks.cap = 2
    assert "2 webhooks" in await refused({"url": receiver.url}, status=409)

    await sb.admin("DELETE", f"/api/v1/webhooks/{wid}", expect=204)
    await sb.admin("GET", f"/api/v1/webhooks/{wid}", expect=404)
    await sb.admin("DELETE", f"/api/v1/webhooks/{wid}", expect=404)
    await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters", expect=404)
    await sb.admin("POST", f"/api/v1/webhooks/{wid}/dead-letters/replay", expect=404)
    await sb.admin("GET", "/api/v1/webhooks/bad id!", expect=400)

    # the last webhook gone, the consumer group goes too: no node reads events for nobody
    redis = sb.node.services.redis
    assert await redis.xinfo_groups(sb.node.services.router.keys.events)
    await sb.admin("DELETE", f"/api/v1/webhooks/{given['id']}", expect=204)
    assert await redis.xinfo_groups(sb.node.services.router.keys.events) == []


# ---------------------------------------------------------------- delivery


async def test_a_chat_lifecycle_arrives_signed_and_in_order(make_deployment, receivers):
    sb = await deployment(make_deployment)
    receiver = await receivers()
    hook = await subscribe(sb, receiver)
    agent = await sb.available_agent("ann")
    cid = await served_chat(sb, agent)

    await receiver.until(lambda r: r.events(type="session.wrapped_up", conversation_id=cid))
    chat = receiver.events(conversation_id=cid)
    assert [e["type"] for e in chat] == CHAT_TYPES
    queued, offered, connected, ended, wrapped = chat
    assert all(e["queue"] == "support" and e["session_id"] == queued["session_id"] for e in chat)
    assert offered["agent"] == connected["agent"] == ended["agent"] == wrapped["agent"] == "ann"
    assert connected["wait_ms"] >= 0 and ended["handle_ms"] >= 0
    assert ended["reason"] == "agent_ended" and wrapped["code"] == "resolved"
    states = [(e["previous"], e["state"]) for e in receiver.events(type="agent.state_changed", agent="ann")]
    assert states == [("offline", "not_ready"), ("not_ready", "available")]

    # bodies are the stream's events as written, with their id
    stream = {e["id"]: e for e in (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]}
    for request in receiver.requests:
        event = request.event
        assert stream[event["id"]] == event
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["webhook-id"] == f"{event['id']}.{hook['id']}"
        assert headers["user-agent"].startswith("Switchboard-Webhooks")
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        # what a receiver does with the Standard Webhooks library
        assert standardwebhooks.Webhook(hook["secret"]).verify(request.body, headers) == event
    assert len({r.delivery for r in receiver.requests}) == len(receiver.requests)  # none twice

    figures = await eventually(lambda: _settled(sb, hook["id"]))
    assert figures["delivered"] == len(receiver.requests) and figures["failed"] == 0
    assert figures["last_status"] == 200 and figures["last_error"] is None


async def _settled(sb: Any, wid: str) -> dict[str, Any] | None:
    figures = await sb.admin("GET", f"/api/v1/webhooks/{wid}")
    return figures if figures["pending"] == 0 else None


async def test_type_filter_and_only_events_after_creation(make_deployment, receivers):
    sb = await deployment(make_deployment)
    agent = await sb.available_agent("ann")
    before = await served_chat(sb, agent)  # no webhook yet
    everything, ended_only = await receivers(), await receivers()
    await subscribe(sb, everything)
    await subscribe(sb, ended_only, events=["session.ended"])
    after = await served_chat(sb, agent)

    await everything.until(lambda r: r.events(type="session.wrapped_up", conversation_id=after))
    await ended_only.until(lambda r: r.events(type="session.ended", conversation_id=after))
    assert [e["type"] for e in everything.events(conversation_id=after)] == CHAT_TYPES
    assert [e["type"] for e in ended_only.events()] == ["session.ended"]
    assert not everything.events(conversation_id=before) and not ended_only.events(conversation_id=before)


async def test_failures_are_retried_with_growing_gaps(make_deployment, receivers):
    sb = await deployment(make_deployment, webhook_retry_base_s=0.2)
    receiver = await receivers(fail_first=2)
    hook = await subscribe(sb, receiver, events=["session.queued"])
    _, ack = await sb.chat()

    await receiver.until(lambda r: r.answered())
    first, second, third = receiver.requests
    assert first.delivery == second.delivery == third.delivery
    assert third.event["conversation_id"] == ack["conversation_id"]
    assert [first.status, second.status, third.status] == [500, 500, 200]
    gap1, gap2 = second.at - first.at, third.at - second.at
    assert 0.2 <= gap1 < 0.4, gap1  # base
    assert 0.4 <= gap2 < 0.7, gap2  # twice the base
    figures = await eventually(lambda: _settled(sb, hook["id"]))
    assert (figures["delivered"], figures["failed"], figures["dead"]) == (1, 2, 0)
    assert figures["last_status"] == 200 and figures["last_error"] == "HTTP 500"


async def test_dead_letters_then_replay(make_deployment, receivers):
    sb = await deployment(make_deployment, webhook_max_attempts=3, webhook_retry_base_s=0.05)
    receiver = await receivers(status=503)
    hook = await subscribe(sb, receiver, events=["session.queued"])
    wid = hook["id"]
    _, first = await sb.chat()
    _, second = await sb.chat()

    async def dead_letters() -> list[dict[str, Any]]:
        letters = (await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters"))["dead_letters"]
        return letters if len(letters) == 2 else []

    letters = await eventually(dead_letters)
    assert {d["event"]["conversation_id"] for d in letters} == {first["conversation_id"], second["conversation_id"]}
    for letter in letters:
        assert letter["id"] == f"{letter['event']['id']}.{wid}"
        assert letter["event"]["type"] == "session.queued"
        assert (letter["attempts"], letter["last_status"], letter["last_error"]) == (3, 503, "HTTP 503")
        assert letter["failed_at"] > 0
    assert len(receiver.requests) == 6  # three attempts each, then no more
    figures = await sb.admin("GET", f"/api/v1/webhooks/{wid}")
    assert (figures["dead"], figures["pending"], figures["failed"], figures["delivered"]) == (2, 0, 6, 0)

    receiver.status = 200
    oldest = letters[-1]
    assert await sb.admin("POST", f"/api/v1/webhooks/{wid}/dead-letters/replay", {"ids": [oldest["id"], "nope"]}) == {
        "replayed": 1
    }
    await receiver.until(lambda r: len(r.answered()) == 1)
    assert receiver.answered()[0].delivery == oldest["id"]
    remaining = (await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters"))["dead_letters"]
    assert [d["id"] for d in remaining] == [letters[0]["id"]]

    assert await sb.admin("POST", f"/api/v1/webhooks/{wid}/dead-letters/replay") == {"replayed": 1}
    await receiver.until(lambda r: len(r.answered()) == 2)
    assert [r.delivery for r in receiver.answered()] == [oldest["id"], letters[0]["id"]]
    assert await sb.admin("POST", f"/api/v1/webhooks/{wid}/dead-letters/replay", {}) == {"replayed": 0}
    figures = await eventually(lambda: _settled(sb, wid))
    assert (figures["dead"], figures["delivered"], figures["dead_lettered"]) == (0, 2, 2)

    # The recent deliveries, newest first: the two replays delivered, before them each
    # letter's three failed attempts (two retries, then dead).
    recent = (await sb.admin("GET", f"/api/v1/webhooks/{wid}/deliveries"))["deliveries"]
    assert [(d["outcome"], d.get("status")) for d in recent[:2]] == [("delivered", 200), ("delivered", 200)]
    assert [d["delivery_id"] for d in recent[:2]] == [letters[0]["id"], oldest["id"]]
    failed = recent[2:]
    assert sorted(d["outcome"] for d in failed) == ["dead", "dead", "retry", "retry", "retry", "retry"]
    assert {(d["event"], d["status"], d["error"]) for d in failed} == {("session.queued", 503, "HTTP 503")}
    assert all(d["at"] > 0 and 1 <= d["attempt"] <= 3 for d in recent)


async def test_redirects_are_not_followed(make_deployment, receivers):
    sb = await deployment(make_deployment, webhook_max_attempts=1)
    target = await receivers()
    redirecting = await receivers(status=307, extra_headers=[(b"location", target.url.encode())])
    hook = await subscribe(sb, redirecting, events=["session.queued"])
    await sb.chat()
    letters = await eventually(lambda: _dead_letters(sb, hook["id"]))
    assert letters[0]["last_status"] == 307 and "redirects are not followed" in letters[0]["last_error"]
    assert target.requests == []


async def _dead_letters(sb: Any, wid: str) -> list[dict[str, Any]]:
    return (await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters"))["dead_letters"]


async def test_deleting_a_webhook_drops_its_deliveries(make_deployment, receivers):
    sb = await deployment(make_deployment, webhook_retry_base_s=30)
    receiver = await receivers(status=500)
    hook = await subscribe(sb, receiver)
    await sb.available_agent("ann")
    await sb.chat()
    await receiver.until(lambda r: r.requests)  # a first attempt failed; the retry is far away

    async def waiting() -> bool:  # the agent's two state changes and the chat's two events
        return (await sb.admin("GET", f"/api/v1/webhooks/{hook['id']}"))["pending"] >= 4

    await eventually(waiting)
    await sb.admin("DELETE", f"/api/v1/webhooks/{hook['id']}", expect=204)
    redis, keys = sb.node.services.redis, sb.node.services.router.keys
    assert await redis.keys(keys.webhook(hook["id"]) + "*") == []
    assert await redis.zrange(keys.webhook_due, 0, -1) == []


async def test_a_slow_or_failing_webhook_does_not_delay_a_healthy_one(make_deployment, receivers):
    sb = await deployment(make_deployment)
    healthy = await receivers()
    slow = await receivers(delay=1.5)  # longer than the 1 s timeout: every attempt times out
    failing = await receivers(status=500)
    for receiver in (slow, failing, healthy):
        await subscribe(sb, receiver)
    agent = await sb.available_agent("ann")
    started = time.monotonic()
    cid = await served_chat(sb, agent)

    await healthy.until(lambda r: r.events(type="session.wrapped_up", conversation_id=cid))
    assert time.monotonic() - started < 1.0  # before the slow one's first attempt even timed out
    assert [e["type"] for e in healthy.events(conversation_id=cid)] == CHAT_TYPES
    assert slow.requests and not slow.answered()
    assert failing.requests and not failing.answered()
    slow_hook = (await sb.admin("GET", "/api/v1/webhooks"))["webhooks"][0]
    assert slow_hook["url"] == slow.url
    await eventually(lambda: _failed_with(sb, slow_hook["id"], "timed out after 1 s"))


async def _failed_with(sb: Any, wid: str, error: str) -> bool:
    return (await sb.admin("GET", f"/api/v1/webhooks/{wid}"))["last_error"] == error


# ---------------------------------------------------------------- nodes that stop or die


@pytest.mark.parametrize("how", ["stopped", "crashed"])
async def test_deliveries_of_a_node_that_stops_are_sent_by_another(make_deployment, node_factory, receivers, how):
    receiver = await receivers(gate=asyncio.Event())  # holds every request
    a = await deployment(make_deployment)
    hook = await subscribe(a, receiver, events=["session.queued"])
    chats = [(await a.chat())[1]["conversation_id"] for _ in range(3)]
    await receiver.until(lambda r: r.requests)  # node a is sending
    b = await node_factory(**WEBHOOKS)
    in_flight = {r.delivery for r in receiver.requests}

    # Taken before the stop: b may send again before a's stop returns (a request is
    # recorded as it arrives, before the gate holds it).
    stopped = time.monotonic()
    if how == "stopped":  # graceful: a hands its lanes back at once
        await a.node.stop()
        consumers = await b.services.redis.xinfo_consumers(b.services.router.keys.events, GROUP)
        assert a.node.settings.node_id not in {c["name"] for c in consumers}
    else:  # a's dispatcher dies; its leases run out and b sends them again
        await a.node.services.dispatcher.stop(release=False)
    receiver.gate.set()

    def delivered_after_stop(r: Receiver) -> set[str]:
        ids = {q.delivery for q in r.requests if q.at >= stopped}
        return ids if {q.event["conversation_id"] for q in r.requests if q.delivery in ids} == set(chats) else set()

    fresh = await receiver.until(delivered_after_stop, timeout=20)  # leases of a crashed node run out first
    assert len(fresh) == 3 and in_flight <= fresh  # every delivery arrived; those cut short came again
    counts = {d: sum(q.delivery == d for q in receiver.requests) for d in fresh}
    assert all(counts[d] == 2 for d in in_flight)  # duplicates, recognisable by their delivery id
    figures = await eventually(lambda: _settled_on(b, hook["id"]))
    assert figures["delivered"] == 3


async def _settled_on(node: Any, wid: str) -> dict[str, Any] | None:
    view = await node.services.webhooks.get(wid)
    return view if view["pending"] == 0 and view["delivered"] >= 3 else None


async def test_events_read_by_a_dead_node_are_taken_over(make_deployment, node_factory, receivers):
    receiver = await receivers()
    a = await deployment(make_deployment, webhook_claim_idle_s=0.3)
    await subscribe(a, receiver, events=["session.queued"])
    await a.node.services.dispatcher.stop()  # so that only the ghost below reads
    _, ack = await a.chat()
    redis, events = a.node.services.redis, a.node.services.router.keys.events
    # a node reads the entry in the group, then dies before fanning it out
    read = await redis.xreadgroup(GROUP, "ghost-node", {events: ">"}, count=100)
    assert read and read[0][1]
    assert (await redis.xpending(events, GROUP))["pending"] >= 1

    await node_factory(**{**WEBHOOKS, "webhook_claim_idle_s": 0.3})
    await receiver.until(lambda r: r.events(conversation_id=ack["conversation_id"]))
    assert (await redis.xpending(events, GROUP))["pending"] == 0


async def test_erasing_a_visitor_drops_its_dead_letters_and_pending_deliveries(make_deployment, receivers):
    sb = await deployment(make_deployment, webhook_max_attempts=2, webhook_retry_base_s=0.05)
    receiver = await receivers(status=503)
    hook = await subscribe(sb, receiver, events=["session.queued", "session.ended"])
    wid = hook["id"]
    customer, gone = await sb.chat()
    _, kept = await sb.chat()

    async def dead_letters() -> list[dict[str, Any]]:
        letters = (await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters"))["dead_letters"]
        return letters if len(letters) == 2 else []

    await eventually(dead_letters)
    vid = customer.frames[0]["visitor_id"]
    await sb.admin("DELETE", f"/api/v1/visitors/{vid}", expect=204)
    letters = (await sb.admin("GET", f"/api/v1/webhooks/{wid}/dead-letters"))["dead_letters"]
    assert [d["event"]["conversation_id"] for d in letters] == [kept["conversation_id"]]
    jobs = await sb.node.services.redis.hgetall(sb.node.services.router.keys.webhook_jobs(wid))
    assert not [body for body in jobs.values() if gone["conversation_id"].encode() in body]


# ---------------------------------------------------------------- server-side request forgery


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://nowhere.invalid/hook",
    ],
)
async def test_a_webhook_that_would_reach_inside_the_network_is_refused(sb, url):
    response = await sb.http.post("/api/v1/webhooks", json={"url": url})
    assert response.status_code == 400, response.text
    assert "url" in response.json()["error"]["message"]
    assert (await sb.admin("GET", "/api/v1/webhooks"))["webhooks"] == []


def test_public_addresses_are_the_global_unicast_ones():
    assert domain.is_public("93.184.216.34") and domain.is_public("2606:2800:220:1:248:1893:25c8:1946")
    for address in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fc00::1",
        "224.0.0.1",
        "255.255.255.255",
        "::ffff:10.0.0.1",
        "not an address",
    ):
        assert not domain.is_public(address), address


async def test_a_delivery_never_connects_to_an_address_that_is_not_public(make_deployment, receivers):
    """What counts is the address a connection reaches, whatever the URL said when it was
    registered (a DNS answer can change): here the URL is written to the store directly."""
    receiver = await receivers()
    sb = await make_deployment(webhook_max_attempts=1, webhook_timeout_s=1.0)
    await sb.queue("support")
    hook = await sb.node.services.webhooks.create(
        domain.WebhookBody(url=receiver.url.replace("127.0.0.1", "localhost"))
    )
    await sb.chat()

    async def failed() -> dict[str, Any] | None:
        view = await sb.admin("GET", f"/api/v1/webhooks/{hook['id']}")
        return view if view["dead"] else None

    view = await eventually(failed)
    assert "not a public address" in view["last_error"] and view["last_status"] is None
    assert receiver.requests == []
