"""The sign-in page asks for the second factor's code in a real headless Chromium: the
right password of a user with TOTP brings a labelled "Authentication code" field, a wrong
code says so, the right one signs in."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
from playwright.async_api import expect
from test_login_browser import PASSWORD, new_page, sign_in, unexpected, user

from axe import assert_accessible


async def enrolled(base: str, email: str) -> pyotp.TOTP:
    """The user's second factor, enrolled and confirmed over the API; its authenticator app."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        signed_in = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"X-CSRF-Token": signed_in.json()["csrf_token"], "Origin": base}
        app = pyotp.TOTP((await http.post("/api/v1/me/totp", headers=headers)).json()["secret"])
        confirmed = await http.post("/api/v1/me/totp/confirm", json={"code": app.now()}, headers=headers)
        assert confirmed.status_code == 200, confirmed.text
    return app


async def test_the_login_page_asks_for_the_code_of_a_user_with_a_second_factor(sb, browser):
    email = await user(sb, "alice")
    app = await enrolled(sb.node.base, email)
    page, problems = await new_page(browser)
    await page.goto(f"{sb.node.base}/login?next=/desk")
    code = page.get_by_label("Authentication code")
    await expect(code).to_be_hidden()
    await sign_in(page, email)
    await expect(code).to_be_focused()
    await expect(page.get_by_role("alert")).to_have_text("Enter the authentication code of your authenticator app.")
    await assert_accessible(page)
    await code.fill("000000" if app.now() != "000000" else "111111")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Wrong or already used authentication code")
    await expect(code).to_be_focused()
    await code.fill(app.at(time.time() + app.interval))  # the next step's: the confirmation used the current one
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/desk$"))
    await expect(page.locator("#connection")).to_have_text("Connected")
    assert unexpected(problems) == []
