"""Accounts over real HTTP: users and their agents, signing in and out, the session
cookie and its CSRF protection, the sign-in throttle, and socket tokens."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import httpx
import websockets

from support import Client
from switchboard.settings import Settings

PASSWORD = "correct horse battery"


async def create_user(sb: Any, email: str, role: str, **body: Any) -> dict[str, Any]:
    return await sb.admin(
        "POST", "/api/v1/users", {"email": email, "name": email.split("@")[0].title(), "role": role, **body}, 201
    )


class Browser:
    """A signed-in browser: the cookie jar, and the CSRF token and Origin its pages send with changes."""

    def __init__(self, sb: Any, **headers: str) -> None:
        self.sb = sb
        self.http = httpx.AsyncClient(base_url=sb.node.base, timeout=10, headers=headers)
        self.csrf = ""

    async def sign_in(self, email: str, password: str = PASSWORD, expect: int = 200) -> httpx.Response:
        response = await self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == expect, response.text
        if expect == 200:
            self.csrf = self.http.cookies["sb_csrf"]
            assert response.json()["csrf_token"] == self.csrf
        return response

    async def change(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.sb.node.base}
        return await self.http.request(method, path, json=body, headers=headers)

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()


def cookie_attributes(response: httpx.Response, name: str) -> set[str]:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return {part.strip().lower().split("=")[0] for part in header.split(";")[1:]} | {
                part.strip().lower() for part in header.split(";")[1:]
            }
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


async def test_users_are_created_listed_changed_and_their_agents_follow(sb):
    await sb.queue("billing")
    admin = await create_user(sb, "Ada@Example.com", "admin", password=PASSWORD)
    assert admin["id"] and admin["role"] == "admin" and admin["agent_id"] is None and admin["has_password"]
    assert "password" not in admin and "password_hash" not in admin
    agent = await create_user(sb, "alice@example.com", "agent", queues=["support"])
    supervisor = await create_user(sb, "sue@example.com", "supervisor", queues=["support", "billing"], id="sue")
    # Each agent or supervisor user is the agent of the same id.
    profile = await sb.admin("GET", f"/api/v1/agents/{agent['id']}")
    assert profile["role"] == "agent" and profile["queues"] == ["support"] and profile["display_name"] == "Alice"
    assert (await sb.admin("GET", "/api/v1/agents/sue"))["role"] == "supervisor"
    assert supervisor["id"] == "sue" and supervisor["queues"] == ["support", "billing"]
    # The email is unique without regard to case; bodies are checked.
    answer = await sb.admin("POST", "/api/v1/users", {"email": "ada@example.COM", "name": "A", "role": "admin"}, 409)
    assert answer["error"]["code"] == "conflict"
    for bad in (
        {"email": "x@example.com", "name": "X", "role": "agent", "password": "short"},
        {"email": "x@example.com", "name": "X", "role": "agent", "password": "p" * 1025},
        {"email": "x@example.com", "name": "X", "role": "agent", "queues": ["nowhere"]},
        {"email": "x@example.com", "name": "X", "role": "owner"},
        {"email": "not an email", "name": "X", "role": "agent"},
        {"email": "x@example.com", "name": "X", "role": "agent", "password_hash": "$argon2id$..."},
    ):
        await sb.admin("POST", "/api/v1/users", bad, 400)
    # Paged in id order.
    first = await sb.admin("GET", "/api/v1/users?limit=2")
    assert len(first["users"]) == 2 and first["next_cursor"] == first["users"][1]["id"]
    rest = await sb.admin("GET", f"/api/v1/users?limit=2&cursor={first['next_cursor']}")
    assert len(rest["users"]) == 1 and rest["next_cursor"] is None
    assert sorted(u["id"] for u in first["users"] + rest["users"]) == sorted([admin["id"], agent["id"], "sue"])
    # A change of name, and of a supervisor's queues (its profile follows).
    changed = await sb.admin("PATCH", "/api/v1/users/sue", {"name": "Susan", "queues": ["billing"]})
    assert changed["name"] == "Susan" and changed["queues"] == ["billing"]
    assert (await sb.admin("GET", "/api/v1/agents/sue"))["queues"] == ["billing"]
    assert (await sb.admin("GET", "/api/v1/users/sue"))["name"] == "Susan"
    await sb.admin("DELETE", "/api/v1/users/sue", expect=204)
    await sb.admin("GET", "/api/v1/users/sue", expect=404)
    await sb.admin("DELETE", "/api/v1/users/sue", expect=404)


async def test_sign_in_sets_the_session_cookie_and_me_answers_the_user(sb):
    user = await create_user(sb, "sue@example.com", "supervisor", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser:
        response = await browser.sign_in("SUE@example.com")
        session = cookie_attributes(response, "sb_session")
        assert {"httponly", "samesite=lax", "path=/"} <= session and "secure" not in session
        assert "httponly" not in cookie_attributes(response, "sb_csrf")
        me = (await browser.http.get("/api/v1/me")).json()
        assert me["kind"] == "user" and me["id"] == user["id"] and me["role"] == "supervisor"
        assert me["queues"] == ["support"] and me["agent_id"] == user["id"] and me["csrf_token"] == browser.csrf
    # Behind a TLS proxy (127.0.0.1 is a trusted one) the cookies are Secure.
    async with Browser(sb, **{"X-Forwarded-Proto": "https"}) as behind_tls:
        response = await behind_tls.http.post("/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
        assert response.status_code == 200
        assert "secure" in cookie_attributes(response, "sb_session")


async def test_a_wrong_email_and_a_wrong_password_get_the_same_answer(sb):
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    await create_user(sb, "nopass@example.com", "admin")
    answers = []
    for email, password in (
        ("ada@example.com", "wrong password!"),
        ("nobody@example.com", PASSWORD),
        ("nopass@example.com", ""),
    ):
        response = await sb.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401 and "set-cookie" not in response.headers
        answers.append(response.json())
    assert answers[0] == answers[1] == answers[2]
    # Malformed bodies and other sites are refused.
    assert (await sb.http.post("/api/v1/auth/login", json={"email": "ada@example.com"})).status_code == 400
    assert (await sb.http.post("/api/v1/auth/login", content=b"x" * 300_000)).status_code == 400
    foreign = await sb.http.post(
        "/api/v1/auth/login",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403


async def test_cookie_changes_need_the_csrf_token_and_the_own_origin(sb):
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("ada@example.com")
        body = {"email": "new@example.com", "name": "New", "role": "admin"}
        assert (await browser.http.post("/api/v1/users", json=body)).status_code == 403
        for headers in (
            {"X-CSRF-Token": "0" * 64, "Origin": sb.node.base},
            {"X-CSRF-Token": browser.csrf},
            {"X-CSRF-Token": browser.csrf, "Origin": "https://evil.example"},
        ):
            refused = await browser.http.post("/api/v1/users", json=body, headers=headers)
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", headers
        assert (await browser.http.get("/api/v1/users")).status_code == 200  # reads need neither
        assert (await browser.change("POST", "/api/v1/users", body)).status_code == 201
        assert (await browser.change("PUT", "/api/v1/queues/billing", {"name": "Billing"})).status_code == 200


async def test_an_agents_session_is_an_agent_not_an_admin(sb):
    agent = await create_user(sb, "alice@example.com", "agent", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("alice@example.com")
        assert (await browser.http.get("/api/v1/transfer-targets")).status_code == 200
        assert (await browser.http.get("/api/v1/users")).status_code == 403
        assert (await browser.http.get(f"/api/v1/agents/{agent['id']}")).status_code == 403
        answer = await browser.change("PUT", "/api/v1/queues/support", {"name": "Mine"})
        assert answer.status_code == 403
        assert (await browser.change("POST", "/api/v1/api-keys", {"name": "k", "scope": "admin"})).status_code == 403


async def test_the_session_is_renewed_while_used_and_ends_at_its_cap(make_deployment):
    sb = await make_deployment(session_ttl_s=2.0, session_max_s=4.5)
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        signed_in_at = time.monotonic()
        await browser.sign_in("ada@example.com")
        renewed_cookie = False
        # Used every 0.4 s, it outlives its 2 s lifetime, up to its cap.
        while time.monotonic() - signed_in_at < 3.0:
            response = await browser.http.get("/api/v1/me")
            assert response.status_code == 200, time.monotonic() - signed_in_at
            renewed_cookie |= any(h.startswith("sb_session=") for h in response.headers.get_list("set-cookie"))
            await asyncio.sleep(0.4)
        assert renewed_cookie, "a renewed session sends its cookie again"
        deadline = time.monotonic() + 5
        while (await browser.http.get("/api/v1/me")).status_code == 200:
            assert time.monotonic() < deadline, "the session outlived its cap"
            await asyncio.sleep(0.2)
        assert time.monotonic() - signed_in_at >= 3.4
    # Unused, it ends after its lifetime.
    async with Browser(sb) as idle:
        await idle.sign_in("ada@example.com")
        deadline = time.monotonic() + 5
        await asyncio.sleep(2.2)
        assert (await idle.http.get("/api/v1/me")).status_code == 401
        assert time.monotonic() < deadline


async def test_sign_out_ends_the_session(sb):
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("ada@example.com")
        secret = browser.http.cookies["sb_session"]
        assert (await browser.http.post("/api/v1/auth/logout")).status_code == 403  # CSRF here too
        response = await browser.change("POST", "/api/v1/auth/logout")
        assert response.status_code == 204
        assert "sb_session" not in browser.http.cookies
        async with httpx.AsyncClient(base_url=sb.node.base, cookies={"sb_session": secret}) as replaying:
            assert (await replaying.get("/api/v1/me")).status_code == 401


async def test_failed_sign_ins_are_slowed_then_refused_for_a_while(make_deployment):
    sb = await make_deployment(
        login_free_failures=2, login_lockout_s=1.0, login_window_s=60.0, login_failures_per_address=6
    )
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    wrong = {"email": "ada@example.com", "password": "wrong password!"}
    for _ in range(3):
        assert (await sb.http.post("/api/v1/auth/login", json=wrong)).status_code == 401
    # The third failure makes the account wait: even the right password gets 429 meanwhile.
    right = {"email": "ada@example.com", "password": PASSWORD}
    throttled = await sb.http.post("/api/v1/auth/login", json=right)
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "rate_limited"
    assert int(throttled.headers["retry-after"]) >= 1
    # Never for long: once the wait is over the right password signs in, and clears the count.
    deadline = time.monotonic() + 5
    while (response := await sb.http.post("/api/v1/auth/login", json=right)).status_code == 429:
        assert time.monotonic() < deadline, "the wait never ended"
        await asyncio.sleep(0.1)
    assert response.status_code == 200
    assert (await sb.http.post("/api/v1/auth/login", json=wrong)).status_code == 401
    assert (await sb.http.post("/api/v1/auth/login", json=wrong)).status_code == 401
    # One address failing against many accounts is refused for the window, whichever account it
    # tries: its sixth failure (five so far) is the last one it is told about.
    sixth = await sb.http.post("/api/v1/auth/login", json={"email": "u1@example.com", "password": "x"})
    assert sixth.status_code == 401
    refused = await sb.http.post("/api/v1/auth/login", json={"email": "other@example.com", "password": "x"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 30


async def test_a_signed_in_agent_gets_socket_tokens_until_it_is_disabled(sb):
    agent = await create_user(sb, "alice@example.com", "agent", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("alice@example.com")
        assert (await browser.http.post("/api/v1/auth/socket-token")).status_code == 403  # CSRF
        issued = (await browser.change("POST", "/api/v1/auth/socket-token")).json()
        assert issued["agent_id"] == agent["id"]
        assert issued["expires_at"] <= (time.time() + sb.node.settings.socket_token_ttl_s + 1) * 1000
        desk, welcome = await sb.agent_socket(issued["token"])
        assert welcome["agent"]["id"] == agent["id"]
        token_me = await sb.http.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})
        assert token_me.json()["kind"] == "agent" and token_me.json()["email"] == "alice@example.com"
        # Disabling the user ends its session, its tokens and its open socket (4401).
        disabled = await sb.admin("PATCH", f"/api/v1/users/{agent['id']}", {"disabled": True})
        assert disabled["disabled"] is True
        assert (await desk.closed())[0] == 4401
        assert (await browser.http.get("/api/v1/me")).status_code == 401
        assert (await browser.change("POST", "/api/v1/auth/socket-token")).status_code == 401
        assert (
            await sb.http.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"})
        ).status_code == 401
        ws = await websockets.connect(sb.node.agent_url, subprotocols=["switchboard.v1.json"])
        again = Client(ws, binary=False)
        await again.send({"type": "hello", "token": issued["token"]})
        assert (await again.closed())[0] == 4401
        await browser.sign_in("alice@example.com", expect=401)
        # Enabled again, it signs in again.
        await sb.admin("PATCH", f"/api/v1/users/{agent['id']}", {"disabled": False})
        await browser.sign_in("alice@example.com")
        # A new password (a reset) signs it out; the new one signs in, the old one no longer.
        await sb.admin("PATCH", f"/api/v1/users/{agent['id']}", {"password": "a brand new password"})
        assert (await browser.http.get("/api/v1/me")).status_code == 401
        await browser.sign_in("alice@example.com", expect=401)
        await browser.sign_in("alice@example.com", "a brand new password")


async def test_signing_out_closes_the_desks_socket(sb):
    await create_user(sb, "carol@example.com", "agent", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser, Browser(sb) as other_device:
        await browser.sign_in("carol@example.com")
        await other_device.sign_in("carol@example.com")
        desk, _ = await sb.agent_socket((await browser.change("POST", "/api/v1/auth/socket-token")).json()["token"])
        assert (await browser.change("POST", "/api/v1/auth/logout")).status_code == 204
        assert (await desk.closed())[0] == 4401
        # The other session goes on, and its desk takes a fresh socket token.
        token = (await other_device.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        await sb.agent_socket(token)


async def test_a_new_role_closes_the_old_roles_sockets(sb):
    user = await create_user(sb, "sam@example.com", "supervisor", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("sam@example.com")
        token = (await browser.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        supervisor, welcome = await sb.agent_socket(token)
        assert "monitoring" in welcome
        changed = await sb.admin("PATCH", f"/api/v1/users/{user['id']}", {"role": "agent"})
        assert changed["role"] == "agent"
        assert (await supervisor.closed())[0] == 4401
        # The same session goes on, and its desk comes back as an agent.
        token = (await browser.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        _, welcome = await sb.agent_socket(token)
        assert "monitoring" not in welcome and welcome["agent"]["role"] == "agent"


async def test_deleting_a_user_closes_its_sockets(sb):
    agent = await create_user(sb, "bob@example.com", "agent", queues=["support"], password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("bob@example.com")
        token = (await browser.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        desk, _ = await sb.agent_socket(token)
        await sb.admin("DELETE", f"/api/v1/users/{agent['id']}", expect=204)
        assert (await desk.closed())[0] == 4401
        assert (await browser.http.get("/api/v1/me")).status_code == 401


async def test_an_admin_session_gets_no_socket_token_and_me_knows_every_credential(sb):
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("ada@example.com")
        assert (await browser.change("POST", "/api/v1/auth/socket-token")).status_code == 403
    assert (await sb.admin("GET", "/api/v1/me"))["kind"] == "admin_token"
    token = await sb.agent("carol")
    me = (await sb.http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me == {
        "kind": "agent",
        "id": "carol",
        "name": "Carol",
        "role": "agent",
        "queues": ["support"],
        "email": None,
        "agent_id": "carol",
        "scope": None,
        "csrf_token": None,
    }
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
        assert (await anonymous.get("/api/v1/me")).status_code == 401
        assert (await anonymous.post("/api/v1/auth/logout")).status_code == 401
        assert (await anonymous.post("/api/v1/auth/socket-token")).status_code == 401


async def test_disabling_a_user_closes_its_sockets_on_every_node(make_deployment):
    first = await make_deployment()
    await first.queue("support")
    second = await make_deployment()
    agent = await create_user(first, "alice@example.com", "agent", queues=["support"], password=PASSWORD)
    async with Browser(second) as browser:
        await browser.sign_in("alice@example.com")
        token = (await browser.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        on_first, _ = await first.agent_socket(token)
        on_second, _ = await second.agent_socket(token)
        await first.admin("PATCH", f"/api/v1/users/{agent['id']}", {"disabled": True})
        assert (await on_first.closed())[0] == 4401
        assert (await on_second.closed())[0] == 4401
        assert (await browser.http.get("/api/v1/me")).status_code == 401


async def test_garbage_gets_a_clear_4xx_never_a_5xx(sb):
    await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    bodies = [b"", b"null", b"[]", b"\xff\xfe", b'{"email": 1, "password": []}', b'{"name": "' + b"x" * 5000 + b'"}']
    routes = [
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/users"),
        ("PATCH", "/api/v1/users/u_nobody"),
        ("POST", "/api/v1/api-keys"),
    ]
    for method, path in routes:
        for body in bodies:
            answer = await sb.http.request(method, path, content=body, headers={"Content-Type": "application/json"})
            assert 400 <= answer.status_code < 500 and set(answer.json()) == {"error"}, (path, body, answer.text)
    for path, params in (
        ("/api/v1/users", {"cursor": "../../etc"}),
        ("/api/v1/users", {"limit": "-1"}),
        ("/api/v1/users", {"limit": "ten"}),
        ("/api/v1/audit", {"cursor": "../../etc"}),
        ("/api/v1/audit", {"limit": "-1"}),
        ("/api/v1/audit", {"to": "2026-13-45T99:00"}),
        ("/api/v1/audit", {"cursor": "9" * 40}),
    ):
        answer = await sb.http.get(path, params=params)
        assert answer.status_code == 400, (path, params, answer.text)
    for path in ("/api/v1/users/..%2f..", "/api/v1/users/" + "x" * 65, "/api/v1/api-keys/%00"):
        assert (await sb.http.get(path)).status_code in (400, 404, 405)
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as stranger:
        for cookie in ("", "x" * 5000, "é", "sb_session=; sb_session=a"):
            answer = await stranger.get("/api/v1/me", headers={"Cookie": f"sb_session={cookie}".encode()})
            assert answer.status_code == 401, (cookie, answer.text)
        for header in (b"Bearer sbk_\xc3\xa9", b"Bearer " + b"sbk_" * 2000, b"sbk_abc", b"Basic YWRtaW46YWRtaW4="):
            answer = await stranger.get("/api/v1/users", headers={"Authorization": header})
            assert answer.status_code == 401, (header, answer.text)


async def test_a_hash_made_with_weaker_parameters_is_made_again_at_the_next_sign_in(make_deployment, database_url):
    """The suite's nodes hash cheaply; a node with the default settings (Argon2id at RFC
    9106's second recommendation) still signs that user in, and stores its hash anew at
    that strength."""
    cheap = await make_deployment()
    agent = await create_user(cheap, "alice@example.com", "agent", password=PASSWORD)

    async def stored_hash() -> str:
        connection = await asyncpg.connect(database_url)
        try:
            return await connection.fetchval("SELECT password_hash FROM users WHERE id = $1", agent["id"])
        finally:
            await connection.close()

    assert "$m=64,t=1," in await stored_hash()
    default = await make_deployment(password_hash_memory_kib=65536, password_hash_passes=3)
    assert Settings().password_hash_memory_kib == 65536 and Settings().password_hash_passes == 3
    async with Browser(default) as browser:
        await browser.sign_in("alice@example.com")
    assert "$m=65536,t=3,p=4$" in await stored_hash()
    async with Browser(cheap) as browser:  # the stronger hash is as good on the cheap node
        await browser.sign_in("alice@example.com")
        await browser.sign_in("alice@example.com", "not the password", expect=401)
