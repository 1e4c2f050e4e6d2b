"""Single sign-on in a real headless Chromium, through a real OpenID Connect provider
(tests/oidc_provider): "Sign in with ..." on /login, the provider's form, the desk signed
in taking a chat; and the open desk thrown out once the provider disables the account."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from oidc_provider.provider import PASSWORD, RunningProvider, SingleSignOn, with_provider
from playwright.async_api import Page, expect
from test_desk_browser import accept_offer, go_available
from test_login_browser import new_page, unexpected

from axe import assert_accessible


@pytest.fixture
def single_sign_on(make_deployment: Any, oidc_provider: RunningProvider) -> Any:
    return functools.partial(with_provider, make_deployment, oidc_provider)


async def sign_in_with_provider(page: Page, sso: SingleSignOn, account: str) -> None:
    """From the desk, through /login and the provider's form, back to the desk signed in."""
    await page.goto(f"{sso.base}/desk")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk$"))
    button = page.get_by_role("link", name="Sign in with Example ID")
    await expect(button).to_be_visible()
    await assert_accessible(page)
    await button.click()
    await expect(page.get_by_role("heading", name="Test IdP sign-in")).to_be_visible()
    await page.get_by_label("Username").fill(account)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in at the IdP").click()
    await expect(page).to_have_url(f"{sso.base}/desk")
    await expect(page.locator("#connection")).to_have_text("Connected")


async def test_an_agent_signs_in_through_the_provider_and_takes_a_chat(single_sign_on, browser):
    sso = await single_sign_on(oidc_name="Example ID")
    page, problems = await new_page(browser)
    await sign_in_with_provider(page, sso, "alice")
    await expect(page.locator("#me-name")).to_contain_text("Alice IdP")
    aid = (await sso.sb.admin("GET", "/api/v1/users"))["users"][0]["id"]
    # Made at its first sign-in with the queue of its group; its languages are an admin's to give, as for any user.
    profile = await sso.sb.admin("GET", f"/api/v1/agents/{aid}")
    assert profile["queues"] == ["support"]
    body = {"display_name": profile["display_name"], "languages": ["en"], "queues": profile["queues"]}
    await sso.sb.admin("PUT", f"/api/v1/agents/{aid}", body)
    await go_available(page, sso.sb, aid)
    customer, _ = await sso.sb.chat(text="Hello from a customer")
    await accept_offer(page)
    await customer.expect("chat.connected")
    await page.locator("#composer-text").fill("Hello, signed in through single sign-on")
    await page.locator("#composer-text").press("Enter")
    await customer.expect("message", text="Hello, signed in through single sign-on")
    assert unexpected(problems) == []


async def test_an_account_disabled_at_the_provider_is_thrown_out_of_its_open_desk(single_sign_on, browser):
    # The provider is asked at each renewal at most every 2 s; the desk's socket tokens last 3 s.
    sso = await single_sign_on(oidc_name="Example ID", session_ttl_s=8.0, oidc_check_s=2.0)
    page, problems = await new_page(browser)
    await sign_in_with_provider(page, sso, "alice")
    await sso.provider.disable("alice")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fdesk&reason=ended$"), timeout=15_000)
    await expect(page.locator("#login-notice")).to_contain_text("Your session has ended")
    entries = (await sso.sb.admin("GET", "/api/v1/audit?action=auth.provider_refused"))["entries"]
    assert len(entries) == 1
    assert unexpected(problems) == []


async def test_a_user_made_in_the_console_signs_in_through_the_provider_and_is_thrown_out_when_disabled(
    single_sign_on, browser
):
    """The issue's done-test, the single sign-on half (test_admin_browser.py has the password
    half with the supervisor): an agent the admin made in the console signs in through the
    provider (its verified email is the user's), takes a chat from the widget, and is thrown
    out of its open desk when the admin disables it in the console."""
    from test_admin_browser import admin_console
    from test_widget_browser import Widget

    sso = await single_sign_on(oidc_name="Example ID")
    console, console_problems = await admin_console(sso.sb, browser)
    form = console.locator("#user-form")
    await form.get_by_label("Email").fill("alice@idp.example")
    await form.get_by_label("Name").fill("Alice")
    await form.get_by_label("Role").select_option("agent")
    await form.get_by_label("support", exact=True).check()
    await form.get_by_label("Languages").fill("en")
    await form.get_by_role("button", name="Create the user").click()
    await expect(console.locator("#users-table")).to_contain_text("alice@idp.example")
    made = next(u for u in (await sso.sb.admin("GET", "/api/v1/users"))["users"] if u["email"] == "alice@idp.example")

    desk, problems = await new_page(browser)
    await sign_in_with_provider(desk, sso, "alice")
    users = (await sso.sb.admin("GET", "/api/v1/users"))["users"]
    assert [u["id"] for u in users if u["email"] == "alice@idp.example"] == [made["id"]]  # the same user
    await go_available(desk, sso.sb, made["id"])
    widget = await Widget.open_demo(browser, sso.sb)
    await widget.start_chat("Signed-in agents only, please")
    await accept_offer(desk)
    await expect(widget.page.locator(".sub")).to_have_text(re.compile("Chatting with Alice"))

    await console.get_by_role("button", name="Disable Alice").click()
    await expect(desk).to_have_url(re.compile(r"/login\?next=%2Fdesk&reason=ended$"), timeout=5000)
    assert unexpected(problems) == [] and unexpected(console_problems) == []
