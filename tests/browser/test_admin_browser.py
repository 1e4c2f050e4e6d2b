"""The admin console (/admin, widget/admin*) and the page an invitation's link opens
(/password) in a real headless Chromium, against a real server: the admin creates a
supervisor and two agents, one agent chooses its password through its invitation and
takes a chat from the widget that the supervisor sees, and the agent the admin disables
is thrown out of its open desk; every section loads and saves, an API key is shown
once, the audit trail lists the changes, and only admins get in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect
from test_desk_browser import accept_offer, go_available, shot_path
from test_login_browser import at, new_page, sign_in, unexpected
from test_widget_browser import Widget

from axe import assert_accessible

NEW_PASSWORD = "a brand new passphrase"


async def admin_console(sb: Any, browser: Any) -> tuple[Page, list[str]]:
    """The console, its admin signed in with a one-time link as `switchboard demo` prints them."""
    await sb.admin(
        "POST", "/api/v1/users", {"id": "boss", "email": "boss@example.com", "name": "Boss", "role": "admin"}, 201
    )
    token = await sb.node.services.login_links.create("boss")
    page, problems = await new_page(browser)
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"{sb.node.base}/login#once={token}")  # as the demo prints it: an admin lands in the console
    await expect(page).to_have_url(at(sb, "/admin"))
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    return page, problems


async def create_user(page: Page, name: str, role: str, queues: list[str], languages: str = "en") -> str:
    """Creates a user in the console's form (with an invitation); returns the link it shows."""
    form = page.locator("#user-form")
    await form.get_by_label("Email").fill(f"{name.lower()}@example.com")
    await form.get_by_label("Name").fill(name)
    await form.get_by_label("Role").select_option(role)
    for queue in queues:
        await form.get_by_label(queue, exact=True).check()
    await form.get_by_label("Languages").fill(languages)
    await form.get_by_role("button", name="Create the user").click()
    link = page.locator("#user-link-value")
    await expect(page.locator("#user-link-text")).to_contain_text(f"Pass this link on to {name}")
    await expect(page.locator("#users-table")).to_contain_text(f"{name.lower()}@example.com")
    return await link.input_value()


async def user_id(sb: Any, email: str) -> str:
    users = (await sb.admin("GET", "/api/v1/users"))["users"]
    return next(u["id"] for u in users if u["email"] == email)


async def choose_password(browser: Any, link: str) -> Page:
    page, _ = await new_page(browser)
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Choose a password")).to_be_visible()
    assert "#token=" not in page.url, "the token leaves the address bar"
    await page.get_by_label("New password").fill(NEW_PASSWORD)
    await page.get_by_label("Confirm the password").fill(NEW_PASSWORD[:-1])
    await page.get_by_role("button", name="Set the password and sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("The two passwords differ.")
    await assert_accessible(page)
    await page.get_by_label("Confirm the password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Set the password and sign in").click()
    return page


async def test_people_made_in_the_console_take_and_supervise_a_chat_and_a_disabled_one_is_thrown_out(
    make_deployment, browser, tmp_path: Path
):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support")
    await sb.queue("billing")
    console, problems = await admin_console(sb, browser)
    sue_link = await create_user(console, "Sue", "supervisor", ["support"])
    alice_link = await create_user(console, "Alice", "agent", ["support"])
    await create_user(console, "Bob", "agent", ["billing"], languages="en, de")
    await console.locator("#content").evaluate("content => content.scrollTo(0, 0)")
    await console.screenshot(path=str(shot_path("admin.png", tmp_path)), animations="disabled")
    await assert_accessible(console)
    alice = await user_id(sb, "alice@example.com")
    profile = await sb.admin("GET", f"/api/v1/agents/{alice}")
    assert profile["queues"] == ["support"] and profile["languages"] == ["en"] and profile["role"] == "agent"
    assert (await sb.admin("GET", f"/api/v1/agents/{await user_id(sb, 'bob@example.com')}"))["languages"] == [
        "en",
        "de",
    ]

    # Alice chooses her password through the invitation, then signs in at /login.
    first = await choose_password(browser, alice_link)
    await expect(first).to_have_url(at(sb, "/desk"))
    await first.context.close()
    used, _ = await new_page(browser)
    await used.goto(alice_link)
    await used.get_by_label("New password").fill("yet another passphrase")
    await used.get_by_label("Confirm the password").fill("yet another passphrase")
    await used.get_by_role("button", name="Set the password and sign in").click()
    await expect(used.get_by_role("alert")).to_contain_text("already used or has expired")
    await used.context.close()
    desk, desk_problems = await new_page(browser)
    await desk.goto(f"{sb.node.base}/login?next=/desk")
    await sign_in(desk, "alice@example.com", NEW_PASSWORD)
    await expect(desk).to_have_url(at(sb, "/desk"))
    await expect(desk.locator("#connection")).to_have_text("Connected")
    await go_available(desk, sb, alice)

    # Sue sets hers and watches her queue.
    board = await choose_password(browser, sue_link)
    await expect(board).to_have_url(at(sb, "/supervisor"))
    await expect(board.locator("#conn")).to_have_text("Live")

    # A customer writes in the widget; Alice takes the chat, Sue sees it.
    widget = await Widget.open_demo(browser, sb)
    await widget.start_chat("My order never arrived")
    await accept_offer(desk)
    await expect(widget.page.locator(".sub")).to_have_text("Chatting with Alice")
    card = board.locator("#cards > li.card").filter(has_text="Bob")
    await expect(card.locator(".status")).to_have_text("Active")
    await expect(card.locator(".agents-list dd")).to_have_text("Alice")

    # The admin disables Alice in the console: her open desk is thrown out within seconds.
    await console.get_by_role("button", name="Disable Alice").click()
    await expect(console.locator("#users-status")).to_have_text("Alice is disabled.")
    await expect(desk).to_have_url(re.compile(r"/login\?next=%2Fdesk&reason=ended$"), timeout=5000)
    await expect(console.locator("#users-table")).to_contain_text("Disabled")
    assert unexpected(problems) == []
    assert unexpected(desk_problems) == []


async def test_each_section_loads_and_saves(sb, browser, tmp_path: Path):
    page, problems = await admin_console(sb, browser)

    # Users: made without an invitation, then its routing profile edited; the admin cannot disable itself.
    form = page.locator("#user-form")
    await form.get_by_label("Email").fill("carl@example.com")
    await form.get_by_label("Name").fill("Carl")
    await form.get_by_label("support", exact=True).check()
    await form.get_by_label("Send an invitation").uncheck()
    await form.get_by_role("button", name="Create the user").click()
    await expect(page.locator("#users-status")).to_have_text("Carl is saved.")
    await expect(page.locator("#user-link")).to_be_hidden()
    await page.get_by_role("button", name="Edit Carl").click()
    await expect(form.get_by_label("Name")).to_be_focused()
    await form.get_by_label("Skills").fill("billing, refunds")
    await form.get_by_label(re.compile("^Capacity")).fill("5")
    await expect(page.locator("#user-form-title")).to_have_text("Edit Carl")
    await form.get_by_role("button", name="Save the user").click()
    await expect(page.locator("#user-form-title")).to_have_text("New user")  # saved: the form is for the next one
    carl = await user_id(sb, "carl@example.com")
    profile = await sb.admin("GET", f"/api/v1/agents/{carl}")
    assert (profile["skills"], profile["capacity"], profile["queues"]) == (["billing", "refunds"], 5, ["support"])
    await expect(page.get_by_role("button", name="Disable Boss")).to_have_count(0)
    await expect(page.get_by_role("button", name="Disable Carl")).to_be_visible()
    await assert_accessible(page)

    # Queues: the form, the JSON editor beside it, and the server's refusal next to them.
    await page.get_by_role("link", name="Queues").click()
    await expect(page.get_by_role("heading", name="Queues")).to_be_focused()
    await expect(page.locator("#queues-table")).to_contain_text("Support")
    form = page.locator("#queue-form")
    await form.get_by_label("Id").fill("billing")
    await form.get_by_label("Name").fill("Billing")
    await form.get_by_label("Languages").fill("en, fr")
    await form.get_by_label("Wrap-up codes").fill("paid: Paid\nrefund: Refund issued")
    more = form.get_by_label(re.compile("^More settings"))
    await more.fill('{"max_wait_s": 600,')
    await form.get_by_role("button", name="Save the queue").click()
    await expect(page.locator("#queue-error")).to_contain_text("not valid")
    await expect(more).to_be_focused()
    await more.fill('{"max_wait_s": 600, "agent_selection": "nobody"}')
    await form.get_by_role("button", name="Save the queue").click()
    await expect(page.locator("#queue-error")).to_contain_text("agent_selection")
    await expect(form.get_by_label("Name")).to_have_value("Billing")  # nothing typed is lost
    await more.fill('{"max_wait_s": 600}')
    await form.get_by_role("button", name="Save the queue").click()
    await expect(page.locator("#queues-status")).to_have_text("The queue Billing is saved.")
    billing = await sb.admin("GET", "/api/v1/queues/billing")
    assert billing["languages"] == ["en", "fr"] and billing["max_wait_s"] == 600
    assert billing["wrap_up_codes"] == [{"code": "paid", "label": "Paid"}, {"code": "refund", "label": "Refund issued"}]
    await page.get_by_role("button", name="Edit the queue Billing").click()
    await expect(form.get_by_label("Id")).to_have_value("billing")
    assert '"max_wait_s": 600' in await more.input_value()
    await page.locator("#content").evaluate("content => content.scrollTo(0, 0)")
    await page.screenshot(path=str(shot_path("admin-queues.png", tmp_path)), animations="disabled")
    await assert_accessible(page)

    # Canned responses.
    await page.get_by_role("link", name="Canned responses").click()
    form = page.locator("#canned-form")
    await form.get_by_label("Id").fill("greeting")
    await form.get_by_label("Title").fill("Greeting")
    await form.get_by_label(re.compile("^Text")).fill("Hello {{customer.name}}!")
    await form.get_by_role("button", name="Save the canned response").click()
    await expect(page.locator("#canned-table")).to_contain_text("Hello {{customer.name}}!")
    await assert_accessible(page)

    # Invitation rules.
    await page.get_by_role("link", name="Invitation rules").click()
    form = page.locator("#rule-form")
    await form.get_by_label("Id").fill("checkout")
    await form.get_by_label("Queue").select_option("billing")
    await form.get_by_label("Page address pattern").fill("https://shop.example/checkout/*")
    await form.get_by_label("Invitation text").fill("Need help paying?")
    await form.get_by_role("button", name="Save the rule").click()
    await expect(page.locator("#rules-table")).to_contain_text("https://shop.example/checkout/*")
    assert (await sb.admin("GET", "/api/v1/invite-rules/checkout"))["queue"] == "billing"
    await assert_accessible(page)

    # Not-ready reasons.
    await page.get_by_role("link", name="Not-ready reasons").click()
    await page.get_by_label(re.compile("^The reasons agents choose")).fill("Break\nLunch\nTraining")
    await page.get_by_role("button", name="Save the reasons").click()
    await expect(page.locator("#reasons-status")).to_have_text("Saved: 3 reasons.")
    assert (await sb.admin("GET", "/api/v1/not-ready-reasons"))["reasons"] == ["Break", "Lunch", "Training"]

    # Webhooks: the secret once, the dead letters.
    await page.get_by_role("link", name="Webhooks").focus()
    await page.keyboard.press("Enter")  # the section list works from the keyboard
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_focused()
    form = page.locator("#webhook-form")
    await form.get_by_label(re.compile("^Address")).fill("http://127.0.0.1:9/hook")
    await form.get_by_role("button", name="Create the webhook").click()
    await expect(page.locator("#webhook-error")).not_to_be_empty()  # a private address is refused
    await form.get_by_label(re.compile("^Address")).fill("https://93.184.216.34/hook")
    await form.get_by_label(re.compile("^Events")).fill("session.ended")
    await form.get_by_role("button", name="Create the webhook").click()
    await expect(page.locator("#webhook-secret-value")).not_to_have_value("")
    await expect(page.locator("#webhooks-table")).to_contain_text("session.ended")
    await page.get_by_role("button", name="Dead letters of https://93.184.216.34/hook").click()
    await expect(page.locator("#dead-list")).to_have_text("No dead letter.")
    await expect(page.locator("#recent-list")).to_have_text("No delivery yet.")
    await assert_accessible(page)

    # API keys: shown once.
    await page.get_by_role("link", name="API keys").click()
    form = page.locator("#key-form")
    await form.get_by_label("Name").fill("nightly export")
    await form.get_by_role("button", name="Create the key").click()
    await expect(page.locator("#key-value")).to_have_value(re.compile("^sbk_"))
    key = await page.locator("#key-value").input_value()
    await expect(page.locator("#keys-table")).to_contain_text("nightly export")
    await page.reload()
    await expect(page.locator("#keys-table")).to_contain_text("nightly export")
    await expect(page.locator("#key-shown")).to_be_hidden()
    assert key not in await page.content()
    await page.get_by_role("button", name="Revoke the key nightly export").click()
    await expect(page.locator("#keys-table")).to_contain_text("Revoked")
    # A key for a bot: the scope the bot socket takes.
    await form.get_by_label("Name").fill("order bot")
    await form.get_by_label("Scope").select_option("bot")
    await form.get_by_role("button", name="Create the key").click()
    await expect(page.locator("#keys-table")).to_contain_text("Bot (the bot socket)")
    await assert_accessible(page)

    # The audit trail lists the changes, filtered and paged.
    await page.get_by_role("link", name="Audit trail").click()
    table = page.locator("#audit-table")
    for action in ("queues.put", "canned-responses.put", "invite-rules.put", "webhooks.create", "api-keys.delete"):
        await expect(table).to_contain_text(action)
    await page.get_by_label("Action").fill("queues.put")
    await page.get_by_role("button", name="Show").click()
    await expect(table.locator("tbody tr")).to_have_count(2)  # support and billing: the refused saves are no change
    await table.locator("summary").first.click()
    await expect(table.locator("pre").first).to_contain_text("max_wait_s")
    await assert_accessible(page)
    assert [p for p in unexpected(problems) if not re.search(r"\b400\b", p)] == []  # the refusals asked for


async def test_only_admins_get_the_console(sb, browser):
    page, _ = await new_page(browser)
    await page.goto(f"{sb.node.base}/admin")
    await expect(page).to_have_url(at(sb, "/login?next=%2Fadmin"))
    await sb.agent("alice")
    await sb.admin(
        "POST",
        "/api/v1/users",
        {"id": "alice", "email": "alice@example.com", "name": "Alice", "role": "agent", "password": NEW_PASSWORD},
        201,
    )
    await sign_in(page, "alice@example.com", NEW_PASSWORD)
    await expect(page).to_have_url(at(sb, "/admin"))
    await expect(page.get_by_role("heading", name="This console is for administrators")).to_be_visible()
    await expect(page.locator("#refusal-text")).to_contain_text("Alice, an agent")
    assert await page.evaluate("fetch('/api/v1/users').then((r) => r.status)") == 403
    await assert_accessible(page)
