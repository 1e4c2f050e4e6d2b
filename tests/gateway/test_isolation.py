"""Isolation: every command and every HTTP route, tried with someone else's ids and
with the wrong credentials, is refused and gives nothing away.

A victim's conversation holds marker strings (its text, the customer's name and
email, an internal note). Attackers are a visitor with a chat of its own, an agent
and a supervisor of another queue. Each of their attempts must be refused with
`forbidden`/`not_found` (HTTP 401/403/404), and none of the frames they ever
receive, nor any HTTP answer they get, may hold a marker.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import websockets
from starlette.routing import Route

from support import Client, eventually

SECRET_TEXT = "victim-secret-text-7f3a"
SECRET_NOTE = "victim-internal-note-91c2"
SECRET_EMAIL = "victoria.private@example.com"
SECRET_NAME = "Victoria Victim"
MARKERS = (SECRET_TEXT, SECRET_NOTE, SECRET_EMAIL, SECRET_NAME)
UNKNOWN = "c_AAAAAAAAAAAAAAAAAAAAAA"  # shaped like an id, belongs to nobody


def leaks(payload: Any) -> list[str]:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return [m for m in MARKERS if m in text]


@pytest.fixture
async def world(make_deployment) -> dict[str, Any]:
    sb = await make_deployment(stats_interval_s=0.2, webhook_allow_private=True)
    await sb.queue("support", accept_mode="auto")
    await sb.queue("manual")
    await sb.queue("other", accept_mode="auto")
    alice = await sb.available_agent("alice", queues=["support", "manual"])
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor", queues=["support"]))
    bob_token = await sb.agent("bob", queues=["other"])
    bob, _ = await sb.agent_socket(bob_token)
    await bob.ok({"type": "set_state", "state": "available"})
    oscar_token = await sb.agent("oscar", role="supervisor", queues=["other"])
    oscar, _ = await sb.agent_socket(oscar_token)

    victim, victim_welcome = await sb.customer()
    started = await victim.ok(
        {
            "type": "start_chat",
            "queue": "support",
            "text": SECRET_TEXT,
            "customer": {"name": SECRET_NAME, "email": SECRET_EMAIL},
        }
    )
    cid = started["conversation_id"]
    await alice.expect("conversation.assigned", conversation_id=cid)
    await alice.ok({"type": "note", "conversation_id": cid, "text": SECRET_NOTE})
    await alice.ok({"type": "message", "conversation_id": cid, "text": f"re: {SECRET_TEXT}"})
    await sue.ok({"type": "monitor", "conversation_id": cid})
    # A pending offer for alice, and a pending invitation for another visitor.
    _waiting, _ = await sb.chat("manual", text="waiting")
    offer = await alice.expect("offer")
    invited, invited_welcome = await sb.customer()
    invite = await sb.admin(
        "POST",
        f"/api/v1/visitors/{invited_welcome['visitor_id']}/invite",
        {"queue": "support", "text": "Need help?"},
        expect=201,
    )
    await invited.expect("invite")

    async with httpx.AsyncClient(base_url=sb.node.base) as victim_http:  # a file, its name and bytes secret
        attachment = await victim_http.post(
            f"/api/v1/conversations/{cid}/attachments",
            files={"file": (f"{SECRET_TEXT}.txt", SECRET_TEXT.encode())},
            headers={"Authorization": f"Bearer {victim_welcome['visitor_token']}"},
        )
    assert attachment.status_code == 201, attachment.text

    attacker, attacker_welcome = await sb.customer()
    own = await attacker.ok({"type": "start_chat", "queue": "other", "text": "attacker here"})
    await bob.expect("conversation.assigned", conversation_id=own["conversation_id"])
    return {
        "sb": sb,
        "cid": cid,
        "victim_vid": victim_welcome["visitor_id"],
        "victim_token": victim_welcome["visitor_token"],
        "attachment_id": attachment.json()["id"],
        "offer_id": offer["offer_id"],
        "invite_id": invite["invite_id"],
        "alice": alice,
        "bob": bob,
        "bob_token": bob_token,
        "oscar": oscar,
        "oscar_token": oscar_token,
        "attacker": attacker,
        "attacker_token": attacker_welcome["visitor_token"],
        "victim": victim,
    }


def agent_commands(cid: str) -> list[dict[str, Any]]:
    """Every agent command that names a conversation."""
    return [
        {"type": "message", "conversation_id": cid, "text": "let me in"},
        {"type": "note", "conversation_id": cid, "text": "let me in"},
        {"type": "typing", "conversation_id": cid, "active": True},
        {"type": "transfer", "conversation_id": cid, "queue": "other"},
        {"type": "transfer", "conversation_id": cid, "agent": "oscar"},
        {"type": "conference", "conversation_id": cid, "agent": "oscar"},
        {"type": "leave", "conversation_id": cid},
        {"type": "end_conference", "conversation_id": cid},
        {"type": "end_session", "conversation_id": cid},
        {"type": "wrap_up", "conversation_id": cid, "code": "resolved"},
        {"type": "request_help", "conversation_id": cid, "text": "help"},
        {"type": "verify_contact", "conversation_id": cid, "email": "x@example.com"},
        {"type": "monitor", "conversation_id": cid},
        {"type": "whisper", "conversation_id": cid, "text": "let me in"},
        {"type": "barge_in", "conversation_id": cid},
        {"type": "reassign", "conversation_id": cid, "queue": "other"},
        {"type": "reassign", "conversation_id": cid, "agent": "bob"},
    ]


async def test_every_agent_command_on_a_foreign_conversation_is_refused(world):
    sb, cid = world["sb"], world["cid"]
    named = {c["type"] for c in agent_commands(cid)} | {
        "accept",
        "decline",
        "set_state",
        "unmonitor",
        "hello",
        "force_state",
    }
    from switchboard.domain.frames import AgentCommand

    assert named == {t.__struct_config__.tag for t in AgentCommand.__args__}, "a new command needs a case here"
    for attacker in (world["bob"], world["oscar"]):
        for target in (cid, UNKNOWN):
            for command in agent_commands(target):
                answer = await attacker.request(command)
                assert answer["type"] == "error" and answer["code"] in ("forbidden", "not_found"), (command, answer)
                assert set(answer) == {"type", "ref", "code", "message"} and not leaks(answer)
        for kind in ("accept", "decline"):
            answer = await attacker.request({"type": kind, "offer_id": world["offer_id"]})
            assert answer["code"] == "not_found", answer
        # Forcing the state of another queue's agent (or supervisor), or of nobody.
        for agent in ("alice", "sue", "nobody"):
            answer = await attacker.request({"type": "force_state", "agent": agent, "state": "offline"})
            assert answer["code"] in ("forbidden", "not_found") and not leaks(answer), (agent, answer)
    # Unmonitoring what it does not monitor: refused for an agent, a no-op for a supervisor.
    assert (await world["bob"].request({"type": "unmonitor", "conversation_id": cid}))["code"] == "forbidden"
    answer = await world["oscar"].ok({"type": "unmonitor", "conversation_id": cid})
    assert set(answer) == {"type", "ref", "conversation_id", "monitoring"} and answer["monitoring"] is False
    assert (await sb.admin("GET", "/api/v1/agents/alice"))["state"] == "available"
    # Nothing happened to the victim's conversation.
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status"] == "active" and [a["id"] for a in detail["card"]["agents"]] == ["alice"]
    assert "let me in" not in json.dumps(detail)
    assert world["victim"].received("typing") == []
    # The offer is still alice's to take.
    await world["alice"].ok({"type": "accept", "offer_id": world["offer_id"]})


async def test_a_foreign_resume_replays_nothing(world):
    sb, cid = world["sb"], world["cid"]
    spy, welcome = await sb.agent_socket(world["bob_token"], resume={cid: 0})
    assert welcome["conversations"] and all(c["conversation_id"] != cid for c in welcome["conversations"])
    stranger, stranger_welcome = await sb.customer(resume={"conversation_id": cid, "last_seq": 0})
    assert stranger_welcome["conversation"] is None and "recovered" not in stranger_welcome
    # A barrier: anything replayed would have come before these acks.
    await spy.ok({"type": "set_state", "state": "available"})
    await stranger.ok({"type": "page_view", "url": "https://shop.example/"})
    assert not leaks(spy.frames) and not leaks(stranger.frames)
    assert [f["type"] for f in stranger.frames if f.get("conversation_id") == cid] == []


async def test_a_visitor_reaches_only_its_own_conversation(world):
    sb, attacker = world["sb"], world["attacker"]
    for kind in ("accept_invite", "dismiss_invite"):
        answer = await attacker.request({"type": kind, "invite_id": world["invite_id"]})
        assert answer["code"] == "not_found" and not leaks(answer), answer
    # Its messages, typing and receipts land in its own conversation only.
    await attacker.ok({"type": "message", "text": "where does this go?"})
    await attacker.ok({"type": "typing", "active": True})
    await attacker.ok({"type": "read", "seq": 1})
    await world["bob"].expect("message", text="where does this go?")
    assert [f for f in world["alice"].frames if f.get("text") == "where does this go?"] == []
    assert world["victim"].received("typing") == [] and "where does this go?" not in json.dumps(world["victim"].frames)
    # A forged visitor token (the victim's id, a made-up signature) is refused.
    forged = world["victim_token"].rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    ws = await websockets.connect(sb.node.customer_url, subprotocols=["switchboard.v1.json"])
    client = Client(ws, binary=False)
    await client.send({"type": "hello", "visitor_token": forged})
    assert (await client.closed())[0] == 4401
    # An agent token is no visitor token, and a visitor token no agent token.
    ws = await websockets.connect(sb.node.agent_url, subprotocols=["switchboard.v1.json"])
    client = Client(ws, binary=False)
    await client.send({"type": "hello", "token": world["attacker_token"]})
    assert (await client.closed())[0] == 4401
    ws = await websockets.connect(sb.node.customer_url, subprotocols=["switchboard.v1.json"])
    client = Client(ws, binary=False)
    await client.send({"type": "hello", "visitor_token": world["bob_token"]})
    assert (await client.closed())[0] == 4401


async def test_supervisors_see_only_their_queues(world):
    _sb, oscar = world["sb"], world["oscar"]
    answer = await oscar.request({"type": "monitor", "conversation_id": world["cid"]})
    assert answer["code"] == "forbidden"
    # Help asked in support reaches support's supervisor only.
    ack = await world["alice"].ok({"type": "request_help", "conversation_id": world["cid"], "text": "help"})
    assert ack["supervisors"] == 1
    # The live feed: wait for a few stats frames, then check none of it is about support.
    await oscar.wait(lambda f: f["type"] == "stats", timeout=5)
    stats = [f for f in oscar.frames if f["type"] == "stats"]
    assert {q["id"] for f in stats for q in f["queues"]} == {"other"}
    assert oscar.received("help.requested") == [] and not leaks(oscar.frames)
    assert all(f["card"]["queue"]["id"] == "other" for f in oscar.received("card"))


def route_cases(world: dict[str, Any], app: Any) -> list[tuple[str, str]]:
    """(method, path) for every HTTP route, with ids of things that are not the caller's."""
    ids = {
        "queues": "support",
        "agents": "alice",
        "conversations": world["cid"],
        "visitors": world["victim_vid"],
        "canned-responses": "greeting",
        "invite-rules": "rule1",
        "webhooks": world["webhook_id"],
        "users": world.get("user_id", "u_AAAAAAAAAAAAAAAAAAAAAA"),
        "api-keys": world.get("api_key_id", "key_AAAAAAAAAAAAAAAAAAAAAA"),
        "attachments": world["attachment_id"],  # without its signed URL
    }
    cases = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        path = route.path
        if "{id}" in path:
            collection = path.split("/")[3]
            path = path.replace("{id}", ids[collection])
        if path.startswith("/api/v1/reports/"):  # a report of a queue that is not the caller's
            path += "?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&queue=support"
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            cases.append((method, path))
    return cases


PUBLIC = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/login",
    "/desk",
    "/supervisor",
    "/admin",
    "/password",
    "/demo",
    "/docs/api",
    "/api/v1/asyncapi.json",
    "/api/v1/openapi.json",
    "/api/v1/auth/providers",
    "/auth/oidc/login",  # single sign-on starts and ends without credentials, as /login does
    "/auth/oidc/callback",
}
# Signing in (with a password or a one-time link) takes no credentials: with the junk body of this test it answers 400.
SIGN_IN = ("POST", "/api/v1/auth/login")
SIGN_IN_WITH_LINK = ("POST", "/api/v1/auth/login-link")
SET_PASSWORD = ("POST", "/api/v1/auth/password")  # with an invitation's or reset's link: no credentials either
SIGN_OUT = ("POST", "/api/v1/auth/logout")
# A signed-in user's own second factor: its enrolment answers a session (the junk body of this test gets 400 at confirm).
OWN_SECOND_FACTOR = {("POST", "/api/v1/me/totp"), ("POST", "/api/v1/me/totp/confirm")}
# What an agent's token may do (docs/protocol.md, HTTP API details): the shared canned
# responses, the list of online visitors (for proactive invitations), the desk's
# transfer targets, the not-ready reasons of its state menu, and a search over the
# conversations it took part in (its own: the victim's never shows, which `leaks` checks).
AGENT_READABLE = {
    ("GET", "/api/v1/not-ready-reasons"),
    ("GET", "/api/v1/canned-responses"),
    ("GET", "/api/v1/canned-responses/greeting"),
    ("GET", "/api/v1/visitors"),
    ("GET", "/api/v1/transfer-targets"),
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/me"),
}


def party_or_signature_only(method: str, path: str) -> bool:
    """The routes of attachments: an upload takes only a party's visitor or agent token (a visitor
    token of another chat is told 403), a download only its signed URL; cookies and keys are no
    credentials there (401)."""
    return (method == "POST" and path.endswith("/attachments")) or path.startswith("/api/v1/attachments/")


async def test_every_route_refuses_foreign_ids_and_foreign_tokens(world):
    sb, cid = world["sb"], world["cid"]
    await sb.admin("PUT", "/api/v1/canned-responses/greeting", {"title": "Hi", "text": "Hello {name}"}, expect=201)
    await sb.admin(
        "PUT",
        "/api/v1/invite-rules/rule1",
        {"queue": "support", "url_pattern": "https://shop.example/*", "seconds_on_page": 30, "text": "Hi"},
        expect=None,
    )
    world["webhook_id"] = (await sb.admin("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, expect=201))[
        "id"
    ]
    cases = route_cases(world, sb.node.app)
    assert len(cases) >= 30
    bodies = {"POST": {"queue": "support", "text": "come in"}, "PUT": {"name": "x"}}
    credentials = {
        "none": None,
        "garbage": "Bearer not-a-token",
        "visitor": f"Bearer {world['attacker_token']}",
        "agent": f"Bearer {world['bob_token']}",
        "supervisor": f"Bearer {world['oscar_token']}",
        "admin-lookalike": "Bearer test-admin-tokeN",
    }
    checked = 0
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as http:
        for method, path in cases:
            if (method, path) in (SIGN_IN, SIGN_IN_WITH_LINK, SET_PASSWORD):
                answer = await http.request(method, path, json={"queue": "support"})
                assert answer.status_code == 400 and not leaks(answer.text)
                continue
            if path in PUBLIC:
                answer = await http.request(method, path)
                assert not leaks(answer.text), path
                continue
            for who, header in credentials.items():
                headers = {"Authorization": header} if header else {}
                answer = await http.request(method, path, headers=headers, json=bodies.get(method))
                checked += 1
                assert not leaks(answer.text), (who, method, path, answer.text)
                if (who in ("agent", "supervisor") and (method, path) in AGENT_READABLE) or (
                    who == "supervisor" and (method, path) == ("GET", "/api/v1/stats")
                ):  # its own queues
                    assert answer.status_code == 200, (who, method, path, answer.text)
                elif who in ("agent", "supervisor"):
                    # a valid token of the wrong kind, or for someone else's queue or visitor
                    assert answer.status_code in (401, 403), (who, method, path, answer.status_code, answer.text)
                elif who == "visitor" and party_or_signature_only(method, path):
                    assert answer.status_code in (401, 403), (who, method, path, answer.status_code, answer.text)
                else:
                    assert answer.status_code == 401, (who, method, path, answer.status_code, answer.text)
                if answer.status_code >= 400 and "text/event-stream" not in answer.headers.get("content-type", ""):
                    assert set(answer.json()) == {"error"}, (who, method, path, answer.text)
    assert checked >= 150
    # Nothing was changed by any of it.
    assert (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]["status"] == "active"
    assert (await sb.admin("GET", "/api/v1/queues/support"))["name"] == "Support"
    assert (await sb.admin("GET", "/api/v1/agents/alice"))["display_name"] == "Alice"


async def test_supervisor_statistics_stop_at_their_queues(world):
    sb = world["sb"]
    async with httpx.AsyncClient(
        base_url=sb.node.base, timeout=10, headers={"Authorization": f"Bearer {world['oscar_token']}"}
    ) as http:
        mine = await http.get("/api/v1/stats")
        assert mine.status_code == 200 and [q["id"] for q in mine.json()["queues"]] == ["other"]
        foreign = await http.get("/api/v1/stats", params={"queue": "support"})
        assert foreign.status_code == 403 and not leaks(foreign.text)
        codes = await http.get("/api/v1/queues/support/wrap-up-codes")
        assert codes.status_code == 403


async def test_ids_are_unguessable(world):
    sb = world["sb"]
    pattern = {
        "v": r"^v_[A-Za-z0-9_-]{22}$",
        "c": r"^c_[A-Za-z0-9_-]{22}$",
        "s": r"^s_[A-Za-z0-9_-]{22}$",
        "o": r"^o\d+-[0-9a-f]{40}$",
        "i": r"^i\d+-[0-9a-f]{40}$",
    }
    detail = await sb.admin("GET", f"/api/v1/conversations/{world['cid']}")
    samples = {
        "v": world["victim_vid"],
        "c": world["cid"],
        "s": detail["card"]["session_id"],
        "o": world["offer_id"],
        "i": world["invite_id"],
    }
    for kind, value in samples.items():
        assert re.match(pattern[kind], value), (kind, value)
    # Two offers in a row share nothing but their counter.
    alice = world["alice"]
    await sb.chat("manual", text="another")

    async def second_offer() -> Any:
        offers = [f["offer_id"] for f in alice.received("offer")]
        return offers if len(offers) >= 2 else None

    first, second = (await eventually(second_offer))[:2]
    assert first.split("-")[1][:8] != second.split("-")[1][:8]


async def _signed_in(sb: Any, email: str) -> httpx.AsyncClient:
    """A browser signed in as `email`, sending its CSRF token and the deployment's Origin with every request."""
    http = httpx.AsyncClient(base_url=sb.node.base, timeout=10)
    answer = await http.post("/api/v1/auth/login", json={"email": email, "password": "a long enough password"})
    assert answer.status_code == 200, answer.text
    http.headers.update({"X-CSRF-Token": answer.json()["csrf_token"], "Origin": sb.node.base})
    return http


async def test_every_route_with_keys_and_sessions(world):
    """The credentials of people and automation against every route: sessions of an agent and
    a supervisor of another queue are agents (as their tokens are); a read-scoped key reads
    everything and changes nothing; an admin's session without its CSRF token changes nothing;
    a revoked key and the key of a disabled admin are nobody."""
    sb = world["sb"]
    password = "a long enough password"
    for email, role, extra in (
        ("bob@example.com", "agent", {"id": "bob", "queues": ["other"]}),
        ("oscar@example.com", "supervisor", {"id": "oscar", "queues": ["other"]}),
        ("ada@example.com", "admin", {}),
        ("gone@example.com", "admin", {}),
    ):
        user = await sb.admin(
            "POST", "/api/v1/users", {"email": email, "name": role, "role": role, "password": password, **extra}, 201
        )
        world["user_id"] = user["id"]  # the last one: an admin, the target of the users routes
    world["api_key_id"] = (await sb.admin("POST", "/api/v1/api-keys", {"name": "probe", "scope": "admin"}, 201))["id"]
    read_key = (await sb.admin("POST", "/api/v1/api-keys", {"name": "reader", "scope": "read"}, 201))["key"]
    revoked = await sb.admin("POST", "/api/v1/api-keys", {"name": "revoked", "scope": "admin"}, 201)
    await sb.admin("DELETE", f"/api/v1/api-keys/{revoked['id']}", expect=204)
    gone = await _signed_in(sb, "gone@example.com")
    orphan = (await gone.post("/api/v1/api-keys", json={"name": "of gone", "scope": "admin"})).json()["key"]
    await sb.admin("PATCH", f"/api/v1/users/{world['user_id']}", {"disabled": True})
    await gone.aclose()
    await sb.admin("PUT", "/api/v1/canned-responses/greeting", {"title": "Hi", "text": "Hello"}, expect=201)
    await sb.admin(
        "PUT",
        "/api/v1/invite-rules/rule1",
        {"queue": "support", "url_pattern": "https://shop.example/*", "seconds_on_page": 30, "text": "Hi"},
        expect=None,
    )
    world["webhook_id"] = (await sb.admin("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}, 201))["id"]

    sessions = {
        "agent-session": await _signed_in(sb, "bob@example.com"),
        "supervisor-session": await _signed_in(sb, "oscar@example.com"),
        "admin-session-without-csrf": await _signed_in(sb, "ada@example.com"),
    }
    del sessions["admin-session-without-csrf"].headers["X-CSRF-Token"]
    bearers = {"read-key": read_key, "revoked-key": revoked["key"], "disabled-admins-key": orphan}
    callers: dict[str, httpx.AsyncClient] = dict(sessions)
    for who, key in bearers.items():
        callers[who] = httpx.AsyncClient(base_url=sb.node.base, timeout=10, headers={"Authorization": f"Bearer {key}"})
    bodies = {"POST": {"queue": "support", "text": "come in"}, "PUT": {"name": "x"}, "PATCH": {"name": "x"}}
    checked = 0
    try:
        for method, path in route_cases(world, sb.node.app):
            if path in PUBLIC or (method, path) in (SIGN_IN, SIGN_IN_WITH_LINK, SET_PASSWORD, SIGN_OUT):
                continue
            for who, http in callers.items():
                admin_reads = who in ("read-key", "admin-session-without-csrf") and method == "GET"
                if admin_reads and path == "/api/v1/events/stream":
                    continue  # it would stream for as long as the test waits
                answer = await http.request(method, path, json=bodies.get(method))
                checked += 1
                status = answer.status_code
                if who in ("revoked-key", "disabled-admins-key"):
                    assert status == 401, (who, method, path, status, answer.text)
                elif party_or_signature_only(method, path):
                    assert status == 401, (who, method, path, status, answer.text)
                    assert not leaks(answer.text), (who, method, path, answer.text)
                elif admin_reads:
                    assert status not in (401, 403), (who, method, path, status, answer.text)
                elif who in ("read-key", "admin-session-without-csrf"):
                    assert status == 403, (who, method, path, status, answer.text)
                elif (
                    (method, path) in AGENT_READABLE
                    or (method, path) == ("POST", "/api/v1/auth/socket-token")
                    or (who, method, path) == ("supervisor-session", "GET", "/api/v1/stats")
                ):
                    assert status == 200, (who, method, path, status, answer.text)
                    assert not leaks(answer.text), (who, method, path, answer.text)
                elif (method, path) in OWN_SECOND_FACTOR:
                    assert status in (200, 400), (who, method, path, status, answer.text)
                    assert not leaks(answer.text), (who, method, path, answer.text)
                else:
                    assert status in (401, 403), (who, method, path, status, answer.text)
                    assert not leaks(answer.text), (who, method, path, answer.text)
                if status >= 400:
                    assert set(answer.json()) == {"error"}, (who, method, path, answer.text)
        for who, http in callers.items():  # signing out, last
            expected = {
                "agent-session": 204,
                "supervisor-session": 204,
                "admin-session-without-csrf": 403,
                "read-key": 403,
            }
            assert (await http.post("/api/v1/auth/logout")).status_code == expected.get(who, 401), who
    finally:
        for http in callers.values():
            await http.aclose()
    assert checked >= 200
    # Nothing was changed by any of it.
    assert (await sb.admin("GET", "/api/v1/queues/support"))["name"] == "Support"
    assert (await sb.admin("GET", "/api/v1/agents/alice"))["display_name"] == "Alice"
    assert (await sb.admin("GET", "/api/v1/users/bob"))["name"] == "agent"
    assert len((await sb.admin("GET", "/api/v1/api-keys"))["api_keys"]) == 4
