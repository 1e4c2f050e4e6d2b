"""A session that ends closes its sockets: the socket tokens a session gives never outlive
it, so the desk of a session that expires is closed with 4401 when it does; sessions ended
by a password reset close theirs at once."""

from __future__ import annotations

import asyncio
import time

from test_accounts import PASSWORD, Browser, create_user


async def test_the_socket_of_an_expiring_session_closes_with_it(make_deployment):
    sb = await make_deployment(session_ttl_s=2.0)  # unused for 2 s, it ends
    await sb.queue("support")
    await create_user(sb, "alice@example.com", "agent", password=PASSWORD, queues=["support"])
    async with Browser(sb) as desk:
        signed_in = (await desk.sign_in("alice@example.com")).json()
        answer = await desk.change("POST", "/api/v1/auth/socket-token")
        # that use of the session made it last 2 s more, to here at the latest
        session_ends = time.time() + 2.0
        assert answer.status_code == 200
        assert answer.json()["expires_at"] <= signed_in["expires_at"], "the token ends with the session at the latest"
        socket, _ = await sb.agent_socket(answer.json()["token"])
        assert await socket.closed(timeout=10) == (4401, "token expired")
        # The token's expiry is in whole seconds, so the socket may close up to a second before
        # the session ends; a request before then would find it alive, and make it last longer.
        await asyncio.sleep(max(0.0, session_ends + 0.2 - time.time()))
        assert (await desk.change("POST", "/api/v1/auth/socket-token")).status_code == 401


async def test_a_password_reset_ends_the_sessions_and_closes_their_sockets(sb):
    await sb.queue("support")
    user = await create_user(sb, "bob@example.com", "agent", password=PASSWORD, queues=["support"])
    async with Browser(sb) as desk:
        await desk.sign_in("bob@example.com")
        token = (await desk.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        socket, _ = await sb.agent_socket(token)
        await sb.admin("PATCH", f"/api/v1/users/{user['id']}", {"password": "a brand new password"})
        assert (await socket.closed())[0] == 4401
        assert (await desk.http.get("/api/v1/me")).status_code == 401
