"""One-time sign-in links over real HTTP: `POST /api/v1/auth/login-link` and the links
`switchboard demo` prints (works once, expires, a wrong token gets 401)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from test_accounts import create_user

from support import eventually
from switchboard.cli import DEMO_AGENT, demo_banner, seed_demo


async def use_link(sb: Any, token: str, http: httpx.AsyncClient | None = None) -> httpx.Response:
    client = http or httpx.AsyncClient(base_url=sb.node.base, timeout=10)
    try:
        return await client.post("/api/v1/auth/login-link", json={"token": token}, headers={"Origin": sb.node.base})
    finally:
        if http is None:
            await client.aclose()


async def test_a_link_signs_its_user_in_once(sb):
    user = await create_user(sb, "alice@example.com", "agent")
    token = await sb.node.services.login_links.create(user["id"])
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as browser:
        answer = await use_link(sb, token, browser)
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["id"] == user["id"]
        assert answer.json()["csrf_token"] == browser.cookies["sb_csrf"]
        me = await browser.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    again = await use_link(sb, token)
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthorized"
    entries = (await sb.admin("GET", "/api/v1/audit?action=auth.login"))["entries"]
    assert [e["target"] for e in entries] == [user["id"]]


async def test_wrong_expired_and_disabled_links_get_401(sb):
    user = await create_user(sb, "bob@example.com", "agent")
    for wrong in ("not-a-token", "x" * 64, "é" * 10):
        assert (await use_link(sb, wrong)).status_code == 401
    links = sb.node.services.login_links
    expiring = await links.create(user["id"], ttl_s=1)
    redis = sb.node.services.redis

    async def expired() -> bool:
        return not await redis.keys("*login:link*")

    await eventually(expired, timeout=5)
    assert (await use_link(sb, expiring)).status_code == 401
    disabled = await links.create(user["id"])
    await sb.admin("PATCH", f"/api/v1/users/{user['id']}", {"disabled": True})
    assert (await use_link(sb, disabled)).status_code == 401


async def test_bad_bodies_and_foreign_origins_are_refused(sb):
    user = await create_user(sb, "carol@example.com", "agent")
    token = await sb.node.services.login_links.create(user["id"])
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as http:
        for body in (b"", b"[]", b'{"token": 5}', b'{"token": ""}', b'{"token": "a", "more": 1}', b"{" * 10):
            answer = await http.post("/api/v1/auth/login-link", content=body)
            assert answer.status_code == 400, (body, answer.text)
        foreign = await http.post(
            "/api/v1/auth/login-link", json={"token": token}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
    assert (await use_link(sb, token)).status_code == 200, "a refused try does not use the link up"


async def test_the_demo_prints_links_for_the_admin_and_the_demo_agent(sb):
    banner = demo_banner(sb.node.settings, await seed_demo(sb.node.settings))
    assert "/desk#token=" in banner and "admin token:" in banner  # the lines of before are still there
    admin_link = re.search(r"sign in as the admin \(admin@example\.com\): +\S+/login#once=(\S+)", banner)
    agent_link = re.search(r"sign in as the demo agent \(agent@example\.com\): +\S+/login#once=(\S+)", banner)
    assert admin_link and agent_link, banner
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as browser:
        assert (await use_link(sb, admin_link[1], browser)).status_code == 200
        me = (await browser.get("/api/v1/me")).json()
        assert me["role"] == "admin" and me["email"] == "admin@example.com"
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as desk:
        answer = await use_link(sb, agent_link[1], desk)
        assert answer.status_code == 200 and answer.json()["user"]["id"] == DEMO_AGENT
        socket_token = await desk.post(
            "/api/v1/auth/socket-token",
            headers={"X-CSRF-Token": desk.cookies["sb_csrf"], "Origin": sb.node.base},
        )
        assert socket_token.status_code == 200 and socket_token.json()["agent_id"] == DEMO_AGENT
    # A second run keeps the users and prints fresh links.
    again = await seed_demo(sb.node.settings)
    assert again.admin_link_token != admin_link[1]
    assert (await use_link(sb, again.admin_link_token)).status_code == 200
    assert len((await sb.admin("GET", "/api/v1/users"))["users"]) == 2
