"""The customer's context at the desk (issue 20.5): the chat's attributes in the offer and
the side panel, the signed identity's customer id, and the customer's earlier
conversations with their satisfaction, opened read only, in a real Chromium."""

from __future__ import annotations

import time

import jwt
from playwright.async_api import expect
from test_desk_browser import accept_offer, go_available, open_desk
from test_widget_browser import Widget

from axe import assert_accessible

SECRET = "the-desk-test-identity-secret-" + "0123456789" * 4


async def test_the_desk_shows_the_attributes_the_customer_id_and_the_earlier_conversations(make_deployment, browser):
    sb = await make_deployment(identity_secret=(SECRET,))
    await sb.queue("support")
    signed = jwt.encode({"sub": "crm-9", "name": "Ida Customer", "exp": time.time() + 600}, SECRET, algorithm="HS256")

    # An earlier conversation with bob, rated 4 of 5.
    bob = await sb.available_agent("bob", capacity=1)
    customer, _ = await sb.customer(identity=signed)
    first = (await customer.ok({"type": "start_chat", "queue": "support", "text": "Where is my parcel?"}))[
        "conversation_id"
    ]
    await bob.ok({"type": "accept", "offer_id": (await bob.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    await bob.ok({"type": "message", "conversation_id": first, "text": "It arrives tomorrow."})
    await bob.ok({"type": "end_session", "conversation_id": first})
    await customer.ok({"type": "csat", "rating": 4})
    await bob.ok({"type": "set_state", "state": "not_ready"})
    await sb.archive_caught_up()

    # Now alice's desk gets the customer's next chat.
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(page, sb, "alice")
    attributes = {"topic": "Returns", "order": "A-7 <b>bold</b>"}
    await customer.ok({"type": "start_chat", "queue": "support", "text": "Back again", "attributes": attributes})
    popup = page.locator(".offer-popup")
    details = popup.get_by_label("Details")
    await expect(details.locator("dt")).to_have_text(["order", "topic"])
    await expect(details.locator("dd")).to_have_text(["A-7 <b>bold</b>", "Returns"])  # as text, never HTML
    await accept_offer(page)

    side = page.locator("#side")
    await expect(side.locator(".profile-name")).to_have_text("Ida Customer")
    await expect(side.locator(".profile-external-id")).to_have_text("crm-9")
    await expect(side.locator(".badge-verified")).to_have_text("Verified")
    await expect(page.locator("#attributes dd")).to_have_text(["A-7 <b>bold</b>", "Returns"])
    earlier = page.locator("#earlier .earlier-hit")
    await expect(earlier).to_have_count(1)
    await expect(earlier.locator(".search-hit-head")).to_contain_text("4/5")
    await earlier.click()
    transcript = page.locator("#transcript")
    await expect(transcript).to_contain_text("Where is my parcel?")
    await expect(transcript).to_contain_text("It arrives tomorrow.")
    await expect(page.locator("#composer-text")).to_be_hidden()  # read only
    assert errors == []


async def test_the_queues_pre_chat_form_in_the_widget_reaches_the_agent(sb, browser):
    """The widget shows the queue's own form, checks it, shows the server's refusal next to
    its field, and every value typed in is on the agent's screen."""
    fields = [
        {"name": "name", "label": "Your name", "required": True},
        {"name": "contract", "label": "Contract number", "required": True},
        {"name": "phone", "label": "Phone", "type": "phone"},
        {"name": "product", "label": "Product", "type": "choice", "options": ["Router", "Modem"], "required": True},
        {"name": "consent", "label": "I accept the privacy notice", "type": "checkbox", "required": True},
    ]
    await sb.queue("support", prechat_fields=fields)
    alice = await sb.available_agent("alice")
    w = await Widget.open_demo(browser, sb)
    page = w.page
    await w.launcher.click()
    await expect(page.get_by_label("Contract number *")).to_be_visible()
    await expect(page.get_by_label("Email")).to_have_count(0)  # the queue's form replaced the site's
    await assert_accessible(page)

    await page.get_by_label("Your name *").fill("Bob")
    await page.get_by_label("Phone").fill("call me maybe")
    await page.get_by_label("How can we help?").fill("My router blinks")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_label("Contract number *")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("I accept the privacy notice *")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("Contract number *").fill("K-7781")
    await page.get_by_label("Phone").fill("+49 30 1234")
    await page.get_by_label("Product *").select_option("Modem")
    await page.get_by_label("I accept the privacy notice *").check()
    # The server is the rule: a choice the queue no longer has is refused next to its field.
    await sb.queue("support", prechat_fields=[*fields[:3], {**fields[3], "options": ["Router"]}, fields[4]])
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.locator("#sb-q-product-err")).to_have_text("Product: not one of the choices")
    await page.get_by_label("Product *").select_option("Router")
    await page.get_by_role("button", name="Start chat").click()
    await expect(w.customer_bubbles.last).to_have_text("My router blinks")

    offer = await alice.expect("offer")
    assert offer["attributes"] == {
        "name": "Bob",
        "contract": "K-7781",
        "phone": "+49 30 1234",
        "product": "Router",
        "consent": "true",
    }
    assert offer["customer"] == {"name": "Bob", "phone": "+49 30 1234", "verified": False}
    assert w.problems == []
