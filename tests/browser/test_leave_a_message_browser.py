"""Leave a message in the widget (issue 20.4), in a real Chromium: with nobody signed in, the
widget offers to leave a message instead of a chat; an agent who signs in later answers,
and the customer finds the answer when coming back."""

from __future__ import annotations

from playwright.async_api import expect
from test_widget_browser import WAIT_MS, Widget

from axe import assert_accessible


async def test_a_customer_leaves_a_message_and_finds_the_answer_the_next_morning(sb, browser):
    await sb.admin("PUT", "/api/v1/queues/support", {"name": "Support"})  # the product's default: leave a message
    w = await Widget.open_demo(browser, sb)
    page = w.page
    await w.launcher.click()
    await expect(page.locator(".intro")).to_have_text(
        "We are away right now. Leave us a message: we will answer here and by email."
    )
    send = page.get_by_role("button", name="Send message")
    await send.click()  # name and email are needed so the team can answer
    await expect(page.get_by_label("Email *")).to_have_attribute("aria-invalid", "true")
    await assert_accessible(page)
    await page.get_by_label("Name *").fill("Ada")
    await page.get_by_label("Email *").fill("ada@example.com")
    await page.get_by_label("How can we help?").fill("Please call me back about my order")
    await send.click()
    await expect(w.customer_bubbles.last).to_have_text("Please call me back about my order")
    await expect(page.locator("li.msg.system .bubble").last).to_have_text(
        "Thank you! Your message reached us. We will answer as soon as someone is back."
    )
    await page.goto("about:blank")  # the customer goes away

    alice = await sb.available_agent("alice")
    offer = await alice.expect("offer", timeout=WAIT_MS / 1000)
    assert offer["customer"]["email"] == "ada@example.com"
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "message", "conversation_id": offer["conversation_id"], "text": "Good morning Ada!"})
    card = (await sb.admin("GET", f"/api/v1/conversations/{offer['conversation_id']}"))["card"]
    assert card["channel"] == "messaging"

    # The next morning the customer comes back to the site: the answer is there.
    await page.goto(f"{sb.node.base}/demo")
    await w.launcher.click()
    await expect(w.agent_bubbles.last).to_have_text("Good morning Ada!")
    await expect(w.customer_bubbles.first).to_have_text("Please call me back about my order")
    assert w.problems == []
