"""The cookies of a page that stays open: the desk's only requests during a shift are
its socket tokens (one an hour), so they renew the session's cookies as `GET /me` does."""

from __future__ import annotations

import httpx
from test_accounts import PASSWORD, create_user

from support import eventually


async def test_socket_tokens_renew_the_session_cookies(make_deployment):
    sb = await make_deployment(session_ttl_s=4.0)  # renewed once it is a second old (a quarter of its life)
    await sb.queue("support")
    await create_user(sb, "alice@example.com", "agent", password=PASSWORD)
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as desk:
        signed_in = await desk.post("/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
        assert signed_in.status_code == 200
        headers = {"X-CSRF-Token": desk.cookies["sb_csrf"], "Origin": sb.node.base}

        async def renewed() -> bool:
            answer = await desk.post("/api/v1/auth/socket-token", headers=headers)
            assert answer.status_code == 200, answer.text
            return any(c.startswith("sb_session=") for c in answer.headers.get_list("set-cookie"))

        await eventually(renewed, timeout=5)
