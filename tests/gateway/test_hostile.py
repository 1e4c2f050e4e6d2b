"""Hostile clients over real sockets: origins, every limit, token revocation and
expiry, and where the visitor token may never show up."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from conftest import ADMIN_TOKEN, SECRET, free_port, suite_node_env
from support import Client, eventually
from switchboard.settings import load_or_create_secret
from switchboard.store.keys import Keys

JSON_PROTOCOL = "switchboard.v1.json"
SERVER_SOURCE = Path(__file__).resolve().parents[2] / "server"


async def raw_socket(
    url: str, origin: str | None = None, ip: str | None = None, protocol: str = JSON_PROTOCOL
) -> Client:
    """A socket with a chosen Origin and client address (the nodes trust X-Forwarded-For
    from 127.0.0.1, as a node behind its proxy does)."""
    headers = {"X-Forwarded-For": ip} if ip else None
    ws = await websockets.connect(
        url, origin=origin, subprotocols=[protocol], max_size=None, open_timeout=5, additional_headers=headers
    )
    return Client(ws, binary=False)


async def refused_status(url: str, **kwargs: Any) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await raw_socket(url, **kwargs)
    return refused.value.response.status_code


async def customer(url: str, **kwargs: Any) -> tuple[Client, dict[str, Any]]:
    client = await raw_socket(url, **kwargs)
    await client.send({"type": "hello"})
    return client, await client.expect("welcome")


# ---------------------------------------------------------------- origins and headers


async def test_a_foreign_origin_is_refused_before_accept_on_both_sockets(make_deployment):
    sb = await make_deployment(allowed_origins=("https://shop.example",))
    await sb.queue("support")
    token = await sb.agent("alice")
    assert await refused_status(sb.node.customer_url, origin="https://evil.example") == 403
    assert await refused_status(sb.node.agent_url, origin="https://evil.example") == 403
    assert await refused_status(sb.node.customer_url, origin="null") == 403
    # The desk is served by the server itself: its own origin is always allowed.
    own = await raw_socket(sb.node.agent_url, origin=sb.node.base)
    await own.send({"type": "hello", "token": token})
    await own.expect("welcome")
    shop, _ = await customer(sb.node.customer_url, origin="https://shop.example")
    await shop.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    for client in (own, shop):
        await client.close()


async def test_a_queue_with_its_own_origins_takes_chats_only_from_them(make_deployment):
    sb = await make_deployment(allowed_origins=("https://shop.example",))
    await sb.queue("support")
    await sb.queue("partner", allowed_origins=["https://partner.example"])
    # The partner's site may load the widget, but only for the partner's queue.
    partner, _ = await customer(sb.node.customer_url, origin="https://partner.example")
    refused = await partner.request({"type": "start_chat", "queue": "support", "text": "hi"})
    assert refused["code"] == "forbidden"
    await partner.ok({"type": "start_chat", "queue": "partner", "text": "hi"})
    shop, _ = await customer(sb.node.customer_url, origin="https://shop.example")
    assert (await shop.request({"type": "start_chat", "queue": "partner"}))["code"] == "forbidden"
    assert await refused_status(sb.node.customer_url, origin="https://other.example") == 403
    # A bad origin in the configuration is refused with the reason.
    answer = await sb.admin(
        "PUT", "/api/v1/queues/partner", {"name": "P", "allowed_origins": ["https://x/path"]}, expect=400
    )
    assert "allowed_origins" in answer["error"]["message"]
    for client in (partner, shop):
        await client.close()


async def test_an_invitation_opens_a_chat_only_from_a_site_its_queue_allows(make_deployment):
    """accept_invite opens a chat in the invitation's queue: that queue's origins
    apply as they do to start_chat."""
    sb = await make_deployment(allowed_origins=("https://shop.example",))
    await sb.queue("support")
    await sb.queue("partner", allowed_origins=["https://partner.example"])
    shop, welcome = await customer(sb.node.customer_url, origin="https://shop.example")
    sent = await sb.admin(
        "POST",
        f"/api/v1/visitors/{welcome['visitor_id']}/invite",
        {"queue": "partner", "text": "Can we help?"},
        expect=201,
    )
    await shop.expect("invite", invite_id=sent["invite_id"])
    refused = await shop.request({"type": "accept_invite", "invite_id": sent["invite_id"]})
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    # nothing was opened, and an invitation to a queue this site may use opens a chat
    invited = await sb.admin(
        "POST", f"/api/v1/visitors/{welcome['visitor_id']}/invite", {"queue": "support", "text": "Hello?"}, expect=201
    )
    await shop.expect("invite", invite_id=invited["invite_id"])
    assert (await shop.ok({"type": "accept_invite", "invite_id": invited["invite_id"]}))["conversation_id"]
    await shop.close()


@pytest.mark.parametrize("path", ["/desk", "/supervisor", "/admin", "/password", "/demo"])
async def test_pages_send_security_headers(sb, path):
    response = await sb.http.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    directives = dict(([*d.strip().split(" ", 1), ""])[:2] for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------- limits


async def test_an_address_calling_the_http_api_too_fast_gets_429_and_others_do_not(make_deployment):
    sb = await make_deployment(http_requests_per_s=1.0, http_burst=3)
    answers = [await sb.http.get("/api/v1/queues") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "1"
    # health checks, pages and the widget's files are not counted
    assert (await sb.http.get("/healthz")).status_code == 200
    assert (await sb.http.get("/desk")).status_code == 200
    # another client (behind the trusted proxy) has its own budget
    other = await sb.http.get("/api/v1/queues", headers={"X-Forwarded-For": "203.0.113.7"})
    assert other.status_code == 200

    # the budget refills: a later call goes through
    async def admitted() -> bool:
        return (await sb.http.get("/api/v1/queues")).status_code == 200

    assert await eventually(admitted, timeout=5, interval=0.3)


async def test_a_frame_over_the_limit_closes_1009(make_deployment):
    sb = await make_deployment(max_frame_bytes=2048)
    await sb.queue("support")
    client, _ = await sb.customer()
    await client.ok({"type": "page_view", "url": "https://shop.example/" + "a" * 1500})
    try:
        await client.send({"type": "page_view", "url": "https://shop.example/" + "a" * 2100})
    except websockets.ConnectionClosed:
        pass
    assert (await client.closed())[0] == 1009


async def test_text_limits_differ_per_role_and_are_settings(make_deployment):
    sb = await make_deployment(customer_text_limit=40, agent_text_limit=20, note_text_limit=30)
    await sb.queue("support", accept_mode="auto")
    agent = await sb.available_agent("alice")
    client, started = await sb.chat(text="x" * 40)
    cid = started["conversation_id"]
    await agent.expect("conversation.assigned")
    assert (await client.request({"type": "message", "text": "x" * 41}))["code"] == "too_long"
    assert (await agent.request({"type": "message", "conversation_id": cid, "text": "y" * 21}))["code"] == "too_long"
    await agent.ok({"type": "message", "conversation_id": cid, "text": "y" * 20})
    assert (await agent.request({"type": "note", "conversation_id": cid, "text": "n" * 31}))["code"] == "too_long"
    await agent.ok({"type": "note", "conversation_id": cid, "text": "n" * 30})
    assert (await client.request({"type": "start_chat", "queue": "support", "text": "z" * 41}))["code"] == "too_long"


async def test_default_text_limits_are_the_contracts(sb):
    await sb.queue("support", accept_mode="auto")
    agent = await sb.available_agent("alice")
    client, started = await sb.chat()
    cid = started["conversation_id"]
    await agent.expect("conversation.assigned")
    await client.ok({"type": "message", "text": "x" * 4000})
    assert (await client.request({"type": "message", "text": "x" * 4001}))["code"] == "too_long"
    await agent.ok({"type": "message", "conversation_id": cid, "text": "y" * 1000})
    assert (await agent.request({"type": "message", "conversation_id": cid, "text": "y" * 1001}))["code"] == "too_long"


async def test_too_many_frames_are_rate_limited_then_the_socket_is_closed_1008(make_deployment):
    sb = await make_deployment(frames_per_s=0.5, frame_burst=3, rate_limit_strikes=4)
    await sb.queue("support")
    client, _ = await sb.customer()
    for i in range(3):
        await client.ok({"type": "page_view", "url": f"https://shop.example/{i}"})
    refused = await client.request({"type": "page_view", "url": "https://shop.example/over"})
    assert refused["code"] == "rate_limited" and "per second" in refused["message"]
    # Refused frames are not carried out.
    visitor = (await sb.admin("GET", "/api/v1/visitors?online=true"))["visitors"][0]
    journey = (await sb.admin("GET", f"/api/v1/visitors/{visitor['visitor_id']}"))["web_session"]["journey"]
    assert [p["url"] for p in journey] == [f"https://shop.example/{i}" for i in range(3)]
    try:
        for _ in range(10):
            await client.send({"type": "page_view", "url": "https://shop.example/flood"})
    except websockets.ConnectionClosed:
        pass
    assert await client.closed() == (1008, "rate limit exceeded")


async def test_a_client_that_slows_down_is_served_again(make_deployment):
    # A frame earned back every 250 ms: a busy host handles the burst below well within
    # that (at 50 frames/s the bucket refilled between frames on a loaded CI host).
    sb = await make_deployment(frames_per_s=4, frame_burst=2, rate_limit_strikes=3)
    await sb.queue("support")
    client, _ = await sb.customer()
    refs = [f"burst{i}" for i in range(3)]
    for ref in refs:
        await client.send({"type": "page_view", "url": "https://shop.example/", "ref": ref})
    answers = [await client.wait(lambda f, ref=ref: f.get("ref") == ref, consume=False) for ref in refs]
    assert "rate_limited" in [a.get("code") for a in answers]

    async def served() -> bool:
        return (await client.request({"type": "page_view", "url": "https://shop.example/"}))["type"] == "ack"

    # slower than the refill: each try finds a frame earned back
    await eventually(served, interval=0.5)
    assert not client._closed.done()


async def test_sockets_per_address_are_limited_on_a_node(make_deployment):
    sb = await make_deployment(sockets_per_ip=2)
    first, _ = await customer(sb.node.customer_url, ip="203.0.113.7")
    second, _ = await customer(sb.node.customer_url, ip="203.0.113.7")
    third = await raw_socket(sb.node.customer_url, ip="203.0.113.7")
    assert await third.closed() == (1013, "too many open connections from your address")
    elsewhere, _ = await customer(sb.node.customer_url, ip="198.51.100.1")
    await first.close()

    async def admitted_again() -> bool:
        client = await raw_socket(sb.node.customer_url, ip="203.0.113.7")
        try:
            # Until the node has seen the first socket go, it still turns this one away.
            await client.send({"type": "hello"})
            await client.expect("welcome", timeout=2)
        except (AssertionError, websockets.ConnectionClosed):
            return False
        finally:
            await client.close()
        return True

    await eventually(admitted_again)
    for client in (second, elsewhere):
        await client.close()


async def test_handshakes_per_address_are_counted_across_nodes(make_deployment, redis_url):
    # The count is per minute: start early in one so it does not roll over meanwhile.
    await eventually(lambda: _early_in_a_minute(), timeout=15, interval=0.2)
    a = await make_deployment(handshakes_per_ip_per_min=3)
    b = await make_deployment(handshakes_per_ip_per_min=3)
    opened = [
        (await customer(a.node.customer_url, ip="192.0.2.9"))[0],
        (await customer(b.node.customer_url, ip="192.0.2.9"))[0],
        (await customer(a.node.customer_url, ip="192.0.2.9"))[0],
    ]
    fourth = await raw_socket(b.node.customer_url, ip="192.0.2.9")
    assert await fourth.closed() == (1013, "too many connections from your address")
    other, _ = await customer(b.node.customer_url, ip="192.0.2.10")
    # The counter is a small key that expires by itself.
    redis = aioredis.from_url(redis_url)
    key = Keys().handshakes("192.0.2.9", int(time.time() // 60))
    assert int(await redis.get(key)) == 4 and 0 < await redis.ttl(key) <= 120
    await redis.aclose()
    for client in (*opened, other):
        await client.close()


async def _early_in_a_minute() -> bool:
    return time.time() % 60 < 45


async def test_no_hello_in_time_closes_4401(make_deployment):
    sb = await make_deployment(hello_timeout_s=0.3)
    client = await raw_socket(sb.node.agent_url)
    assert await client.closed() == (4401, "no hello")


async def test_a_visitor_has_one_open_chat(sb):
    client, welcome = await sb.customer()
    await client.ok({"type": "start_chat", "queue": "support", "text": "one"})
    again = await client.request({"type": "start_chat", "queue": "support", "text": "two"})
    assert again["code"] == "conflict"
    tab, _ = await sb.customer(visitor_token=welcome["visitor_token"])
    assert (await tab.request({"type": "start_chat", "queue": "support"}))["code"] == "conflict"
    await sb.archive_caught_up()
    conversations = await sb.admin("GET", "/api/v1/conversations")
    assert len(conversations["conversations"]) == 1


# ---------------------------------------------------------------- tokens


async def test_revoking_an_agents_tokens_closes_its_sockets_on_every_node(make_deployment):
    a = await make_deployment()
    b = await make_deployment()
    await a.queue("support")
    token = await a.agent("alice")
    on_a, _ = await a.agent_socket(token)
    on_b, _ = await b.agent_socket(token)
    bob = await a.agent("bob")
    bob_socket, _ = await a.agent_socket(bob)
    await a.admin("DELETE", "/api/v1/agents/alice/token", expect=204)
    assert await on_a.closed() == (4401, "token revoked")
    assert await on_b.closed() == (4401, "token revoked")
    # The old token is dead everywhere; a new one works; other agents are untouched.
    stale = await raw_socket(a.node.agent_url)
    await stale.send({"type": "hello", "token": token})
    assert (await stale.closed())[0] == 4401
    answer = await a.http.get("/api/v1/canned-responses", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    fresh = (await a.admin("POST", "/api/v1/agents/alice/token"))["token"]
    _again, welcome = await b.agent_socket(fresh)
    assert welcome["agent"]["id"] == "alice"
    await bob_socket.ok({"type": "set_state", "state": "available"})
    assert (await a.admin("DELETE", "/api/v1/agents/nobody/token", expect=404))["error"]["code"] == "not_found"
    # Only the admin revokes.
    answer = await a.http.delete("/api/v1/agents/bob/token", headers={"Authorization": f"Bearer {bob}"})
    assert answer.status_code == 401


async def test_an_open_socket_closes_when_its_token_expires(make_deployment):
    # Long enough that a loaded machine still says hello before the token expires.
    sb = await make_deployment(agent_token_ttl_s=3.0)
    await sb.queue("support")
    token = await sb.agent("alice")
    client, _ = await sb.agent_socket(token)
    assert await client.closed(timeout=10) == (4401, "token expired")
    late = await raw_socket(sb.node.agent_url)
    await late.send({"type": "hello", "token": token})
    assert await late.closed() == (4401, "invalid or expired token")


async def test_the_visitor_token_is_never_logged_nor_sent_to_anyone_else(tmp_path, redis_url, database_url):
    # A real node process logging everything it logs (debug), uvicorn's access lines included.
    server = LoggedServer(tmp_path, redis_url, database_url, log_level="debug")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
            await http.put("/api/v1/queues/support", json={"name": "Support", "accept_mode": "auto"})
            for aid, role in (("alice", "agent"), ("sue", "supervisor")):
                await http.put(
                    f"/api/v1/agents/{aid}",
                    json={"display_name": aid, "languages": ["en"], "queues": ["support"], "role": role},
                )
            alice = (await http.post("/api/v1/agents/alice/token")).json()["token"]
            sue = (await http.post("/api/v1/agents/sue/token")).json()["token"]
            agent = await raw_socket(server.ws("agent"))
            await agent.send({"type": "hello", "token": alice})
            await agent.ok({"type": "set_state", "state": "available"})
            supervisor = await raw_socket(server.ws("agent"))
            await supervisor.send({"type": "hello", "token": sue})
            await supervisor.expect("welcome")
            client, welcome = await customer(server.ws("customer"))
            token, vid = welcome["visitor_token"], welcome["visitor_id"]
            await client.ok({"type": "page_view", "url": "https://shop.example/cart", "title": "Cart"})
            started = await client.ok(
                {
                    "type": "start_chat",
                    "queue": "support",
                    "text": "my order",
                    "customer": {"name": "Eve", "email": "eve@example.com"},
                }
            )
            cid = started["conversation_id"]
            await agent.expect("conversation.assigned")
            await supervisor.ok({"type": "monitor", "conversation_id": cid})
            again = await raw_socket(server.ws("customer"))
            await again.send(
                {"type": "hello", "visitor_token": token, "resume": {"conversation_id": cid, "last_seq": 0}}
            )
            await again.expect("welcome")
            await again.ok({"type": "message", "text": "still there?"})
            await agent.expect("message", text="still there?")
            await agent.ok({"type": "message", "conversation_id": cid, "text": "yes"})
            await client.expect("message", text="yes")
            # A forged token is refused without being echoed.
            forged = await raw_socket(server.ws("customer"))
            await forged.send({"type": "hello", "visitor_token": token[:-2] + "xx"})
            assert await forged.closed() == (4401, "invalid visitor token")
            seen = [json.dumps(f) for f in agent.frames + supervisor.frames]
            for path in (
                f"/api/v1/conversations/{cid}",
                f"/api/v1/visitors/{vid}",
                "/api/v1/visitors?online=true",
                "/api/v1/events",
                "/api/v1/conversations",
                "/metrics",
            ):
                seen.append((await http.get(path)).text)
            for c in (agent, supervisor, client, again):
                await c.close()
    finally:
        assert server.stop() == 0
    signature = token.split(".")[2]
    assert not [s for s in seen if token in s or signature in s]
    log = server.output()
    assert "WebSocket /ws/customer" in log  # the node did log its sockets; the token is in no line
    assert token not in log and signature not in log
    # Only its own visitor gets it, in its own welcome.
    assert [f["type"] for f in again.frames if token in json.dumps(f)] == ["welcome"]


class LoggedServer:
    """`python -m switchboard serve` as a child process, its output kept in a file."""

    def __init__(
        self,
        tmp_path: Path,
        redis_url: str,
        database_url: str,
        log_level: str = "info",
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.path = tmp_path / f"server-{self.port}.log"
        self.args = [
            sys.executable,
            "-m",
            "switchboard",
            "serve",
            "--port",
            str(self.port),
            "--redis-url",
            redis_url,
            "--database-url",
            database_url,
            "--log-level",
            log_level,
        ]
        self.env = {
            **os.environ,
            "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SWITCHBOARD_SECRET": SECRET,
            "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
            **suite_node_env(),
            "PYTHONPATH": str(SERVER_SOURCE),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, side: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/{side}"

    def output(self) -> str:
        return self.path.read_text(errors="replace")

    async def start(self) -> None:
        with open(self.path, "ab") as out:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT)

        async def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(self.output())
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.base + "/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout=30)

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def test_the_secret_is_kept_with_permissions_600(tmp_path):
    data = tmp_path / "data"
    secret = load_or_create_secret(data)
    path = data / "secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert load_or_create_secret(data) == secret and len(secret) >= 40


async def test_tokens_are_checked_in_constant_time_and_refuse_any_alteration(sb):
    token = await sb.agent("alice")
    signer = sb.node.services.signer
    assert signer.verify_agent(token, time.time()) is not None
    for i in range(len(token)):
        for replacement in ("A", "é", "."):
            altered = token[:i] + replacement + token[i + 1 :]
            if altered != token:
                assert signer.verify_agent(altered, time.time()) is None, altered
    async with httpx.AsyncClient(base_url=sb.node.base) as plain:
        for header in (f"Bearer {token}é", "Bearer", "Basic abc", "Bearer " + "a" * 5000, token):
            answer = await plain.get("/api/v1/canned-responses", headers={"Authorization": header.encode("utf-8")})
            assert answer.status_code == 401


# ---------------------------------------------------------------- frames the fuzzer found


@pytest.mark.parametrize("protocol", ["json", "msgpack"])
async def test_frames_that_once_killed_a_socket_are_bad_requests(sb, protocol):
    client, _ = await sb.customer(protocol)
    for raw in (
        '{"a":' * 5000 + "1" + "}" * 5000,  # nested deeper than the decoder's stack
        b'{"type":"message","text":"\xff"}',  # a binary frame that is not UTF-8
        b"\x81\xa4type\xa7message" if protocol == "json" else b"\x82\xa4type\xa7message\xa4text\xa1\xff",
    ):
        await client.send_raw(raw)
        error = await client.expect("error")
        assert error["code"] == "bad_request" and "Traceback" not in error["message"], error
    await client.ok({"type": "page_view", "url": "https://shop.example/"})
