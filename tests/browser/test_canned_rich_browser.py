"""Canned responses with a rich message (issue 20.3) in a real headless Chromium against a
real server: the admin console stores one (its JSON field, a bad one refused in place), and
the desk's canned picker sends it as a rich message that the customer's socket gets."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import expect
from test_admin_browser import admin_console
from test_desk_browser import accept_offer, go_available, open_desk

QUICK = {
    "kind": "quick_replies",
    "text": "What is it about?",
    "options": [{"label": "An order", "value": "order"}, {"label": "A <b>refund</b>", "value": "refund"}],
}


async def test_the_desk_sends_a_canned_responses_rich_message(sb: Any, browser: Any) -> None:
    await sb.queue("support")
    body = {"title": "Topics", "text": "Hello {customer.name}, what is it about?", "rich": QUICK}
    await sb.admin("PUT", "/api/v1/canned-responses/topics", body, expect=201)
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="Hi", customer={"name": "Ann"})
    await accept_offer(page)
    await customer.expect("chat.connected")

    box = page.locator("#composer-text")
    await box.focus()
    await page.keyboard.press("/")
    await page.locator("#canned-search").fill("topics")
    await expect(page.locator(".canned-item")).to_have_count(1)
    await page.locator("#canned-search").press("Enter")
    await expect(box).to_have_value("Hello Ann, what is it about?")
    chip = page.locator("#composer-rich")
    await expect(chip).to_be_visible()
    await expect(chip).to_contain_text("quick replies")
    await box.press("Enter")

    sent = await customer.expect("message", text="Hello Ann, what is it about?")
    assert sent["rich"] == QUICK and sent["from"]["id"] == "alice"
    mine = page.locator("#transcript .msg-mine").last
    await expect(mine.locator(".rich-option")).to_have_text(["An order", "A <b>refund</b>"])  # as text
    await expect(chip).to_be_hidden()  # it went with that one message

    # "Send as text only" drops it: the next message is plain.
    await box.focus()
    await page.keyboard.press("/")
    await page.locator("#canned-search").fill("topics")
    await expect(page.locator(".canned-item")).to_have_count(1)
    await page.locator("#canned-search").press("Enter")
    await chip.get_by_role("button", name="Send as text only").click()
    await expect(chip).to_be_hidden()
    await box.press("Enter")
    plain = await customer.expect("message", text="Hello Ann, what is it about?", seq=sent["seq"] + 1)
    assert "rich" not in plain
    assert errors == []


async def test_the_console_creates_a_canned_response_with_a_rich_message(sb: Any, browser: Any) -> None:
    page, problems = await admin_console(sb, browser)
    await page.get_by_role("link", name="Canned responses").click()
    form = page.locator("#canned-form")
    await form.get_by_label("Id").fill("topics")
    await form.get_by_label("Title").fill("Topics")
    await form.get_by_label(re.compile("^Text")).fill("What is it about?")
    rich = form.get_by_label(re.compile("^Rich message"))
    await rich.fill("{not json")
    await form.get_by_role("button", name="Save the canned response").click()
    await expect(page.locator("#canned-error")).to_contain_text("not valid JSON")
    await rich.fill(json.dumps({"kind": "card", "title": "X", "buttons": [{"label": "Go", "url": "javascript:x"}]}))
    await form.get_by_role("button", name="Save the canned response").click()
    await expect(page.locator("#canned-error")).not_to_be_empty()  # the server's own refusal
    await rich.fill(json.dumps(QUICK))
    await form.get_by_role("button", name="Save the canned response").click()
    await expect(page.locator("#canned-table")).to_contain_text("What is it about?")
    stored = await sb.admin("GET", "/api/v1/canned-responses/topics")
    assert stored["rich"] == QUICK
    await page.locator("#canned-table").get_by_role("button", name=re.compile("^Edit")).click()
    await expect(rich).to_have_value(json.dumps(QUICK, indent=2))
    assert [p for p in problems if " 400 " not in f" {p} "] == []
