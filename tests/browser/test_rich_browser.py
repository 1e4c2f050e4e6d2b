"""Rich messages in the widget and the desk (issue 20.3), in a real Chromium: quick replies
and a card from a bot through the API, the customer's pick, hostile labels as text."""

from __future__ import annotations

import base64

from playwright.async_api import expect
from test_desk_browser import accept_offer, go_available, open_desk
from test_widget_browser import Widget

# A 1x1 PNG, served for the card's image: tests reach no other host than 127.0.0.1.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
HOSTILE = '<img src=x onerror="window.hacked=1">'


async def test_quick_replies_and_a_card_in_the_widget_and_the_desk(sb, browser):
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(page, sb, "alice")
    w = await Widget.open_demo(browser, sb)
    await w.page.route("https://shop.example/**", lambda route: route.fulfill(body=PIXEL, content_type="image/png"))
    await w.start_chat("Hello")
    await accept_offer(page)
    await sb.archive_caught_up()  # the list is read from PostgreSQL
    cid = (await sb.admin("GET", "/api/v1/conversations"))["conversations"][0]["conversation_id"]

    path = f"/api/v1/conversations/{cid}/messages"
    quick = {
        "kind": "quick_replies",
        "text": "What is it about?",
        "options": [{"label": "A refund", "value": "refund"}, {"label": HOSTILE, "value": "hostile"}],
    }
    await sb.admin("POST", path, {"role": "bot", "name": "Shop bot", "rich": quick}, expect=201)
    card = {
        "kind": "card",
        "title": f"Router X2 {HOSTILE}",
        "text": "Our fastest router.",
        "image_url": "https://shop.example/x2.png",
        "buttons": [{"label": "Open the shop", "url": "https://shop.example/x2"}, {"label": "Buy it", "value": "buy"}],
    }
    await sb.admin("POST", path, {"role": "bot", "name": "Shop bot", "rich": card}, expect=201)

    choices = w.page.locator("button.choice")
    await expect(choices).to_have_text(["A refund", HOSTILE, "Buy it"])
    shop = w.page.get_by_role("link", name="Open the shop")
    await expect(shop).to_have_attribute("href", "https://shop.example/x2")
    await expect(shop).to_have_attribute("rel", "noopener noreferrer nofollow")
    await expect(w.page.locator(".card-title")).to_have_text(f"Router X2 {HOSTILE}")
    await expect(w.page.locator("img.card-image")).to_have_attribute("alt", f"Router X2 {HOSTILE}")

    await choices.first.click()
    await expect(w.customer_bubbles.last).to_have_text("A refund")
    await expect(w.page.locator(".rich").first.locator("button.choice").first).to_be_disabled()

    # The desk: the bot's message with what the customer saw, and the pick.
    transcript = page.locator("#transcript")
    bot = transcript.locator(".msg-bot").first
    await expect(bot.locator(".msg-who")).to_have_text("Shop bot")
    await expect(bot.locator(".rich-option")).to_have_text(["A refund", HOSTILE])
    picked = transcript.locator(".msg-customer").last
    await expect(picked.locator(".msg-text")).to_have_text("A refund")
    await expect(picked.locator(".msg-choice")).to_have_text("picked an option")
    history = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert history["messages"][-1]["choice"] == "refund"

    assert await w.page.evaluate("window.hacked") is None and await page.evaluate("window.hacked") is None
    assert w.problems == [] and errors == []


async def test_a_bots_handoff_reaches_the_desk_with_its_summary(sb, browser):
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(page, sb, "alice")
    flow = {
        "queue": "support",
        "customer": {"name": "Ada"},
        "transcript": [
            {"role": "bot", "text": "Hi, I am the assistant."},
            {"role": "customer", "text": "A person please"},
        ],
        "bot_name": "Shop assistant",
        "summary": f"Router reboots hourly {HOSTILE}",
        "attributes": {"model": "X2"},
        "handoff": True,
    }
    await sb.admin("POST", "/api/v1/conversations", flow, expect=201)
    popup = page.locator(".offer-popup")
    await expect(popup.locator(".offer-summary")).to_have_text(f"Router reboots hourly {HOSTILE}")
    await expect(popup.locator(".offer-msg-text")).to_have_text(["Hi, I am the assistant.", "A person please"])
    await accept_offer(page)
    await expect(page.locator("#card .card-summary")).to_have_text(f"Router reboots hourly {HOSTILE}")
    await expect(page.locator("#transcript .msg-bot .msg-who")).to_have_text("Shop assistant")
    assert await page.evaluate("window.hacked") is None
    assert errors == []
