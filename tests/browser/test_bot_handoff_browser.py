"""The issue's "Done means" (issue 20), in a real Chromium against a real node: a customer first
talks to the example bot (a real process on the bot socket), picks its quick replies, is handed
to an agent with the bot's summary in the desk's offer pop-up, sends a photo whose GPS position
is gone from the file the agent downloads, and gets the transcript by email. And the widget's
"Talk to a person" button."""

from __future__ import annotations

import io

import httpx
from browser.test_attachments_browser import LOADED, choose_file
from browser.test_desk_browser import accept_offer, go_available, open_desk
from browser.test_widget_browser import Widget
from example_bot import SHOP_BOT, bot_key, example_bot
from gateway.test_attachments import photo_with_gps
from mail_server import Inbox, inbox  # noqa: F401 (the fixture)
from PIL import Image
from playwright.async_api import expect

from switchboard.domain.bots import CUSTOMER_ASKED_SUMMARY

BOT_GREETING = "Hi Bob! I am the shop's assistant."
SUMMARY = "The customer asked for a person; topic order, order_number A-1234."


async def test_from_the_example_bot_to_an_agent_with_a_photo_and_the_transcript_by_email(
    browser, make_deployment, inbox: Inbox, tmp_path
):
    sb = await make_deployment(smtp_url=inbox.url, smtp_from="Switchboard <chat@example.com>")
    await sb.queue("support", bot=SHOP_BOT)
    desk, desk_errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(desk, sb, "alice")
    with example_bot(sb.node.bot_url, await bot_key(sb), tmp_path / "bot.log"):
        widget = await Widget.open_demo(browser, sb)
        page = widget.page
        await widget.start_chat("Hello")

        # the bot: it greets, names itself, and offers quick replies
        await expect(widget.agent_bubbles.first).to_have_text(BOT_GREETING)
        bar = page.locator(".botbar")
        await expect(bar).to_contain_text("You are chatting with Shop assistant")
        await expect(bar.get_by_role("button", name="Talk to a person")).to_be_visible()
        await page.locator("button.choice", has_text="Track an order").click()
        await expect(widget.customer_bubbles.last).to_have_text("Track an order")
        await expect(widget.agent_bubbles.last).to_have_text("What is your order number?")
        await widget.input.fill("It is A-1234")
        await widget.input.press("Enter")
        await expect(page.locator("li.msg.agent .bubble", has_text="Order A-1234 left")).to_be_visible()
        # the bot's next quick replies by their question: `.rich` last could still be the first
        # menu (its buttons disabled since the pick) for the moment before they arrive
        after_order = page.locator(".rich", has_text="Anything else?")
        await after_order.locator("button.choice", has_text="Talk to a person").click()

        # the handoff: the bot's summary in the agent's offer pop-up
        popup = desk.locator(".offer-popup")
        await expect(popup.locator(".offer-summary")).to_have_text(SUMMARY)
        await expect(bar).to_be_hidden()
        await accept_offer(desk)
        await expect(desk.locator("#card .card-summary")).to_have_text(SUMMARY)
        await expect(desk.locator("#transcript .msg-bot .msg-who").first).to_have_text("Shop assistant")
        await expect(page.locator(".sub")).to_have_text("Chatting with Alice")

    # a photo from the phone: the agent's download has no GPS position (nor any EXIF)
    await choose_file(page, "parcel.jpg", "image/jpeg", photo_with_gps())
    thumb = desk.locator("#transcript .msg-customer .msg-file img.thumb")
    await expect(thumb).to_be_visible()
    assert await thumb.evaluate(LOADED)
    href = await desk.locator("#transcript .msg-customer .msg-file a").get_attribute("href")
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        downloaded = (await http.get(href or "")).content
    assert Image.open(io.BytesIO(downloaded)).format == "JPEG"
    assert not Image.open(io.BytesIO(downloaded)).getexif() and b"PhoneMaker" not in downloaded

    # the end, and the transcript by email, the bot's part in it
    await page.get_by_role("button", name="End chat").click()
    await page.locator(".confirm").get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Send the transcript").click()
    await expect(page.locator(".transcript-mail [role=status]")).to_have_text(
        "The transcript is on its way to your inbox."
    )
    (mail,) = inbox.messages
    assert inbox.recipients == [["bob@example.com"]]
    body = mail.get_content()
    for line in ("Bob: Hello", f"Shop assistant: {BOT_GREETING}", "Bob: It is A-1234", "Bob: parcel.jpg"):
        assert line in body, (line, body)
    assert desk_errors == [] and widget.problems == []


async def test_talk_to_a_person_hands_the_chat_over(browser, sb, tmp_path):
    await sb.queue("support", bot=SHOP_BOT)
    desk, desk_errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(desk, sb, "alice")
    with example_bot(sb.node.bot_url, await bot_key(sb), tmp_path / "bot.log"):
        widget = await Widget.open_demo(browser, sb)
        await widget.start_chat("Hello")
        await expect(widget.agent_bubbles.first).to_have_text(BOT_GREETING)
        await widget.page.locator(".botbar").get_by_role("button", name="Talk to a person").click()
        await expect(desk.locator(".offer-popup .offer-summary")).to_have_text(CUSTOMER_ASKED_SUMMARY)
        await expect(widget.page.locator(".botbar")).to_be_hidden()
        await expect(widget.page.locator(".status")).to_have_text("You are number 1 in the queue")
        await accept_offer(desk)
        await expect(widget.page.locator(".sub")).to_have_text("Chatting with Alice")
    assert desk_errors == [] and widget.problems == []
