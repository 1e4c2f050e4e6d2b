"""The whole product in one browser: a customer in the widget on the demo page and
two agents at their desks, against a real server. No protocol-level stand-in on
either side."""

from __future__ import annotations

import re

from playwright.async_api import expect
from test_desk_browser import accept_offer, go_available, open_desk
from test_widget_browser import Widget

from axe import assert_accessible

CODES = [{"code": "resolved", "label": "Resolved"}, {"code": "refund", "label": "Refund issued"}]


async def test_widget_and_desks_typing_transfer_wrap_up_and_csat(browser, sb):
    await sb.queue("support")
    await sb.queue("billing", name="Billing", wrap_up_codes=CODES)
    alice_token = await sb.agent("alice")
    bob_token = await sb.agent("bob", queues=["billing"])
    alice, alice_errors = await open_desk(browser, sb, alice_token)
    bob, bob_errors = await open_desk(browser, sb, bob_token)
    await go_available(alice, sb, "alice")
    await go_available(bob, sb, "bob")

    # The customer starts in the widget; Alice's desk rings and she accepts.
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("I was charged twice")
    popup = alice.locator(".offer-popup")
    await expect(popup.locator(".offer-title")).to_have_text("Bob")
    await expect(popup.locator(".offer-thread")).to_contain_text("I was charged twice")
    await accept_offer(alice)
    await expect(w.page.locator(".sub")).to_have_text("Chatting with Alice")

    # Typing both ways, then messages both ways.
    await w.input.press_sequentially("One more")
    await expect(alice.locator("#typing")).to_contain_text("is typing")
    await w.input.fill("")
    composer = alice.locator("#composer-text")
    await composer.press_sequentially("Let me")
    await expect(w.page.locator(".typing")).to_have_text("Alice is typing…")
    await composer.fill("Let me hand you to billing.")
    await composer.press("Enter")
    await expect(w.agent_bubbles.last).to_have_text("Let me hand you to billing.")
    await expect(w.page.locator(".typing")).to_be_hidden()
    await w.input.fill("Thanks <b>a lot</b>")
    await w.input.press("Enter")
    await expect(alice.locator(".msg-customer").last).to_contain_text("Thanks <b>a lot</b>")

    # Alice transfers to the billing queue; Bob's desk gets it as a transfer from her.
    await alice.get_by_role("button", name="Transfer…").click()
    dialog = alice.locator("#dlg-transfer")
    await dialog.get_by_label("Queue", exact=True).select_option("billing")
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(alice.locator(".tab")).to_have_count(0)
    popup = bob.locator(".offer-popup")
    await expect(popup.locator(".offer-kind")).to_have_text("Transfer from Alice")
    await expect(popup.locator(".offer-thread")).to_contain_text("I was charged twice")
    await accept_offer(bob)
    await expect(w.page.locator(".sub")).to_have_text("Chatting with Bob")
    await expect(bob.locator("#transcript")).to_contain_text("Let me hand you to billing.")
    bob_composer = bob.locator("#composer-text")
    await bob_composer.fill("Refund is on its way.")
    await bob_composer.press("Enter")
    await expect(w.agent_bubbles.last).to_have_text("Refund is on its way.")

    # Bob ends and wraps up with the queue's code; the customer rates the chat.
    await bob.get_by_role("button", name="End session").first.click()
    await bob.locator("#dlg-end").get_by_role("button", name="End session").click()
    wrap = bob.locator("#dlg-wrapup")
    await expect(wrap).to_be_visible()
    await assert_accessible(bob)  # a dialog open
    await wrap.get_by_label("Refund issued").check()
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(bob.locator(".closed-item")).to_contain_text("Refund issued")
    await expect(w.page.get_by_text("How was your chat?")).to_be_visible()
    await assert_accessible(w.page)  # the rating form
    await w.page.get_by_label("5 of 5 stars").check()
    await w.page.get_by_role("button", name="Send rating").click()
    await expect(w.page.get_by_text("Thank you for your feedback!")).to_be_visible()

    await sb.archive_caught_up()  # search reads PostgreSQL
    found = await sb.admin("GET", "/api/v1/conversations?q=charged")
    card = found["conversations"][0]
    assert card["wrap_up"]["code"] == "refund" and card["csat"] == {"rating": 5}
    assert card["queue"]["id"] == "billing" and card["color"] == "gray"
    assert re.fullmatch(r"Refund issued", card["status_label"])
    assert alice_errors == [] and bob_errors == [] and w.problems == []
