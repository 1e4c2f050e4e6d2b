"""The sign-in page (/login, widget/login.*) and the signed-in desk and supervisor view in a
real headless Chromium, against a real server: email and password, one-time links, the
way back to the page that sent the user, sign-out, and a disabled user thrown out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect
from test_desk_browser import accept_offer, go_available, shot_path

from axe import assert_accessible
from support import eventually, page_problems

PASSWORD = "correct horse battery"
WAIT_MS = 10000


async def user(sb: Any, aid: str, role: str = "agent", **profile: Any) -> str:
    """An agent (or supervisor) with a routing profile and a user with a password; returns its email."""
    await sb.agent(aid, role=role, **profile)
    email = f"{aid}@example.com"
    body = {"id": aid, "email": email, "name": aid.title(), "role": role, "password": PASSWORD}
    if role == "supervisor":
        body["queues"] = ["support"]
    await sb.admin("POST", "/api/v1/users", body, expect=201)
    return email


async def new_page(browser: Any) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    return page, page_problems(page)


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


def unexpected(problems: list[str]) -> list[str]:
    """What went wrong in a page besides the refusals a test asks for (a 401 or 429 the browser logs)."""
    return [p for p in problems if not re.search(r"\b(401|429)\b", p)]


def at(sb: Any, path: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(sb.node.base + path) + "$")


async def test_an_agent_signs_in_at_login_takes_a_chat_and_signs_out(sb, browser, tmp_path: Path):
    email = await user(sb, "alice")
    page, problems = await new_page(browser)
    # Not signed in, the desk sends its visitor to /login, which comes back to it.
    await page.goto(f"{sb.node.base}/desk")
    await expect(page).to_have_url(at(sb, "/login?next=%2Fdesk"))
    await expect(page.get_by_role("heading", name="Sign in to Switchboard")).to_be_visible()
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.screenshot(path=str(shot_path("login.png", tmp_path)), animations="disabled")
    await assert_accessible(page)

    await sign_in(page, email, "not the password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    await expect(page.get_by_label("Password")).to_be_focused()
    await assert_accessible(page)

    await sign_in(page, email.upper())
    await expect(page).to_have_url(at(sb, "/desk"))
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator("#me-name")).to_have_text("Alice (alice)")
    assert await page.evaluate("sessionStorage.getItem('switchboard.desk.token')") is None, "nothing to paste kept"
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="Hello from a signed-in desk")
    await accept_offer(page)
    await customer.expect("chat.connected")
    await page.locator("#composer-text").fill("Hi, how can I help?")
    await page.locator("#composer-text").press("Enter")
    await customer.expect("message", text="Hi, how can I help?")

    # A reconnect takes a fresh socket token from the session.
    for sock in [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "alice"]:
        sock.close(4401, "token expired")
    await expect(page.locator("#connection")).to_have_text("Connected")
    assert page.url == sb.node.base + "/desk"

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk&reason=signed_out$"))
    await expect(page.locator("#login-notice")).to_have_text("You are signed out.")
    me = await page.evaluate("fetch('/api/v1/me').then((r) => r.status)")
    assert me == 401
    assert unexpected(problems) == []


async def test_a_supervisor_lands_in_the_supervisor_view(sb, browser):
    email = await user(sb, "sue", role="supervisor")
    page, problems = await new_page(browser)
    await page.goto(f"{sb.node.base}/login")
    await sign_in(page, email)
    await expect(page).to_have_url(at(sb, "/supervisor"))
    await expect(page.locator("#conn")).to_have_text("Live")
    await expect(page.locator("#who")).to_have_text("Sue")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fsupervisor&reason=signed_out$"))
    assert unexpected(problems) == []


async def test_a_disabled_agent_is_thrown_out_of_its_open_desk(sb, browser):
    email = await user(sb, "alice")
    page, problems = await new_page(browser)
    await page.goto(f"{sb.node.base}/login?next=/desk")
    await sign_in(page, email)
    await expect(page.locator("#connection")).to_have_text("Connected")
    await sb.admin("PATCH", "/api/v1/users/alice", {"disabled": True})
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk&reason=ended$"), timeout=5000)
    await expect(page.locator("#login-notice")).to_contain_text("an administrator disabled your account")
    assert unexpected(problems) == []


async def test_next_goes_only_to_this_site(sb, browser):
    email = await user(sb, "alice")
    page, _ = await new_page(browser)
    await page.goto(f"{sb.node.base}/login?next=//evil.example/desk")
    refused = await page.evaluate(
        """import('/widget/login.js').then(({ safeNext }) => [
            '//evil.example', '/\\\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/\\t/evil.example',
            '/\\n/evil.example', '', '/login', 'desk',
        ].map(safeNext))"""
    )
    assert refused == [None] * 9
    kept = await page.evaluate(
        "import('/widget/login.js').then(({ safeNext }) => ['/supervisor', '/desk?x=1#y'].map(safeNext))"
    )
    assert kept == ["/supervisor", "/desk?x=1#y"]
    await sign_in(page, email)
    # The off-site `next` is ignored: the agent goes to the desk of its role.
    await expect(page).to_have_url(at(sb, "/desk"))
    await expect(page.locator("#connection")).to_have_text("Connected")


async def test_too_many_failures_say_when_to_try_again(browser, make_deployment):
    sb = await make_deployment(login_free_failures=1)
    await sb.queue("support")
    email = await user(sb, "alice")
    page, _ = await new_page(browser)
    await page.goto(f"{sb.node.base}/login")
    await sign_in(page, email, "wrong password 1")
    await expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    statuses = []
    while 429 not in statuses and len(statuses) < 5:
        async with page.expect_response("**/api/v1/auth/login") as answer:
            await sign_in(page, email, f"wrong password {len(statuses) + 2}")
        statuses.append((await answer.value).status)
    assert statuses[-1] == 429, statuses
    await expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"^Too many failed sign-ins\. Try again in \d+ seconds? \(at .+\)\.$")
    )
    await expect(page.get_by_role("button", name="Sign in")).to_be_disabled()
    await expect(page.get_by_role("button", name="Sign in")).to_be_enabled()
    await assert_accessible(page)


async def test_a_one_time_link_signs_in_once(sb, browser):
    await user(sb, "alice")
    token = await sb.node.services.login_links.create("alice")
    page, _ = await new_page(browser)
    await page.goto(f"{sb.node.base}/login#once={token}")
    await expect(page).to_have_url(at(sb, "/desk"))
    await expect(page.locator("#connection")).to_have_text("Connected")
    again, _ = await new_page(browser)
    await again.goto(f"{sb.node.base}/login#once={token}")
    await expect(again.get_by_role("alert")).to_contain_text("already used or has expired")
    assert token not in again.url


async def test_signing_out_elsewhere_leaves_this_desk_on_a_fresh_token(sb, browser):
    email = await user(sb, "alice")
    page, problems = await new_page(browser)
    await page.goto(f"{sb.node.base}/login?next=/desk")
    await sign_in(page, email)
    await expect(page.locator("#connection")).to_have_text("Connected")
    before = alice_sockets(sb)
    # The same agent signs out in another browser: its sockets close with 4401 everywhere,
    # and this desk, whose session still stands, comes back with a fresh socket token.
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as other:
        signed_in = await other.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert signed_in.status_code == 200
        headers = {"X-CSRF-Token": other.cookies["sb_csrf"], "Origin": sb.node.base}
        assert (await other.post("/api/v1/auth/logout", headers=headers)).status_code == 204

    async def reconnected() -> bool:
        now = alice_sockets(sb)
        return bool(now) and not now & before

    await eventually(reconnected)
    await expect(page.locator("#connection")).to_have_text("Connected")
    assert page.url == sb.node.base + "/desk"
    assert unexpected(problems) == []


def alice_sockets(sb: Any) -> set[Any]:
    return {s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "alice"}
