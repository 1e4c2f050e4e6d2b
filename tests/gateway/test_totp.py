"""The second factor over real HTTP: enrolling and confirming it, signing in with its
code (once: no replay), wrong codes counted by the throttle, an admin's reset, and
one-time links that do not skip it."""

from __future__ import annotations

import time
from typing import Any

import pyotp
from test_accounts import PASSWORD, Browser, create_user
from test_login_links import use_link

from switchboard.gateway.http.auth import account_key


async def enrol(browser: Browser) -> pyotp.TOTP:
    """Enrols and confirms a second factor for the signed-in user; its authenticator app."""
    enrolled = await browser.change("POST", "/api/v1/me/totp")
    assert enrolled.status_code == 200, enrolled.text
    secret = enrolled.json()["secret"]
    assert (
        enrolled.json()["uri"].startswith("otpauth://totp/Switchboard:")
        and f"secret={secret}" in enrolled.json()["uri"]
    )
    app = pyotp.TOTP(secret)
    confirmed = await browser.change("POST", "/api/v1/me/totp/confirm", {"code": app.now()})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["has_totp"] is True
    return app


async def login(sb: Any, email: str, password: str = PASSWORD, **more: Any) -> Any:
    async with Browser(sb) as browser:
        return await browser.http.post("/api/v1/auth/login", json={"email": email, "password": password, **more})


def code_of(step_offset: int, app: pyotp.TOTP) -> str:
    return app.at(time.time() + step_offset * app.interval)


async def test_a_confirmed_second_factor_is_required_and_each_code_works_once(sb):
    user = await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("ada@example.com")
        # Enrolled but not confirmed: nothing changes yet.
        assert (await browser.change("POST", "/api/v1/me/totp")).status_code == 200
        assert (await login(sb, "ada@example.com")).status_code == 200
        wrong = await browser.change("POST", "/api/v1/me/totp/confirm", {"code": "000000x"})
        assert wrong.status_code == 400
        app = await enrol(browser)
        again = await browser.change("POST", "/api/v1/me/totp")
        assert again.status_code == 409, "the secret is shown once; a second enrolment needs an admin's reset"
    assert (await sb.admin("GET", f"/api/v1/users/{user['id']}"))["has_totp"] is True
    # The right password alone: asked for the code. A wrong password with it: just wrong.
    missing = await login(sb, "ada@example.com")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "totp_required"
    wrong_password = await login(sb, "ada@example.com", "wrong password!", totp=app.now())
    assert wrong_password.status_code == 401 and wrong_password.json()["error"]["code"] == "unauthorized"
    wrong_code = await login(sb, "ada@example.com", totp="123 456" if app.now() != "123456" else "654321")
    assert wrong_code.status_code == 401 and wrong_code.json()["error"]["code"] == "totp_wrong"
    # The next step's code (the confirmation used the current one) signs in, once.
    code = code_of(1, app)
    assert (await login(sb, "ada@example.com", totp=code)).status_code == 200
    replayed = await login(sb, "ada@example.com", totp=code)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "totp_wrong"
    earlier = await login(sb, "ada@example.com", totp=app.now())
    assert earlier.json()["error"]["code"] == "totp_wrong", "no code older than the last one used"
    # Only a signed-in user enrols; an admin token has no second factor of its own.
    assert (await sb.admin("POST", "/api/v1/me/totp", None, 403))["error"]["code"] == "forbidden"


async def test_wrong_codes_count_toward_the_throttle(make_deployment):
    sb = await make_deployment(login_failures_per_address=3)  # then the address waits for the window (900 s)
    await create_user(sb, "bob@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("bob@example.com")
        app = await enrol(browser)
    wrong = "000000" if app.now() != "000000" else "111111"
    statuses = [(await login(sb, "bob@example.com", totp=wrong)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401], statuses
    throttle = sb.node.services.login_throttle
    assert int(await throttle.redis.get(throttle.keys.login_failures(account_key("bob@example.com")))) == 3
    throttled = await login(sb, "bob@example.com", totp=code_of(1, app))  # even the right code now waits
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1


async def test_an_admin_resets_the_second_factor_which_ends_the_sessions_and_sockets(sb):
    await sb.queue("support")
    agent = await create_user(sb, "carol@example.com", "agent", password=PASSWORD, queues=["support"])
    async with Browser(sb) as desk:
        await desk.sign_in("carol@example.com")
        await enrol(desk)
        token = (await desk.change("POST", "/api/v1/auth/socket-token")).json()["token"]
        socket, _ = await sb.agent_socket(token)
        # A link does not skip the code.
        link = await sb.node.services.login_links.create(agent["id"])
        assert (await use_link(sb, link)).status_code == 401
        # Only an admin resets it (the agent itself may not), and that is in the audit trail.
        refused = await desk.change("DELETE", f"/api/v1/users/{agent['id']}/totp")
        assert refused.status_code == 403
        assert (await sb.admin("DELETE", f"/api/v1/users/{agent['id']}/totp", None, 204)) is None
        assert (await sb.admin("DELETE", "/api/v1/users/nobody/totp", None, 404))["error"]["code"] == "not_found"
        assert (await socket.closed())[0] == 4401
        assert (await desk.http.get("/api/v1/me")).status_code == 401, "its sessions ended"
    entries = (await sb.admin("GET", "/api/v1/audit?action=users.totp.delete"))["entries"]
    assert [e["target"] for e in entries] == [agent["id"]]
    assert (await sb.admin("GET", f"/api/v1/users/{agent['id']}"))["has_totp"] is False
    after = await login(sb, "carol@example.com")
    assert after.status_code == 200, "without a second factor the password alone signs in again"
