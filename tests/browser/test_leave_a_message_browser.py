"""Leave a message in the widget (issue 20.4), in a real Chromium: with nobody signed in, the
widget offers to leave a message instead of a chat; an agent who signs in later answers,
and the customer finds the answer when coming back."""

from __future__ import annotations

from mail_server import Inbox, inbox  # noqa: F401 (the fixture)
from playwright.async_api import expect
from test_widget_browser import WAIT_MS, Widget, connected_agent, say

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


async def test_after_the_chat_the_customer_gets_the_transcript_by_email(make_deployment, browser, inbox: Inbox):
    sb = await make_deployment(smtp_url=inbox.url)
    await sb.queue("support")
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("Where is my order?")  # as Bob, bob@example.com
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "It arrives tomorrow.")
    await expect(w.agent_bubbles.last).to_have_text("It arrives tomorrow.")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    form = w.page.locator("form.transcript-mail")
    await expect(form).to_be_visible()
    await assert_accessible(w.page)
    await form.get_by_role("button", name="Send the transcript").click()
    await expect(form.get_by_role("status")).to_have_text("The transcript is on its way to your inbox.")
    assert inbox.recipients == [["bob@example.com"]]
    body = inbox.messages[0].get_content()
    assert "Bob: Where is my order?" in body and "Alice: It arrives tomorrow." in body
    assert w.problems == []
