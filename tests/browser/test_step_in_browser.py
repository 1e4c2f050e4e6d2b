"""A supervisor steps in from the supervisor view, in a real headless Chromium: the
customer is the chat widget, the agents are desks, all pages against a real server."""

from __future__ import annotations

import re

from playwright.async_api import expect
from test_desk_browser import accept_offer, agent_state_is, go_available, open_desk
from test_supervisor_browser import Board
from test_widget_browser import Widget

from axe import assert_accessible
from support import eventually


async def test_a_supervisor_whispers_barges_in_reassigns_and_forces_a_state(browser, make_deployment):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support")
    alice_desk, alice_errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(alice_desk, sb, "alice")
    bob_desk, bob_errors = await open_desk(browser, sb, await sb.agent("bob"))

    widget = await Widget.open_demo(browser, sb)
    await widget.start_chat("My parcel is lost")
    await accept_offer(alice_desk)
    await expect(widget.page.locator(".sub")).to_have_text("Chatting with Alice")

    board = await Board.open(browser, sb)
    page = board.page
    await board.sign_in(await sb.agent("sue", role="supervisor"))
    card = board.cards.first
    await expect(card.locator(".status")).to_have_text("Active")
    await card.get_by_role("button", name=re.compile("^Monitor ")).click()
    await expect(board.monitor).to_be_visible()
    await expect(board.transcript.filter(has_text="My parcel is lost")).to_have_count(1)
    await assert_accessible(page)

    # A whisper: the agent's desk shows it as one, the customer never sees it.
    whisper_box = page.get_by_label("Whisper to the agents")
    await whisper_box.fill("Offer a refund")
    await whisper_box.press("Enter")
    whispered = alice_desk.locator("li.msg-supervisor.msg-note")
    await expect(whispered.locator(".note-label")).to_have_text("Whisper from")
    await expect(whispered.locator(".msg-who")).to_have_text("Sue")
    await expect(whispered.locator(".msg-text")).to_have_text("Offer a refund")
    await expect(board.transcript.filter(has_text="Whisper · Sue")).to_have_count(1)
    await expect(whisper_box).to_have_value("")

    # Barge in: the customer sees the supervisor join and write.
    await page.get_by_role("button", name="Barge in").click()
    await expect(
        widget.page.locator("li.msg.system", has_text="Sue (supervisor) joined the conversation")
    ).to_have_count(1)
    await expect(page.get_by_label("Message to the customer")).to_be_focused()
    await page.get_by_label("Message to the customer").fill("I am Sue, the team lead.")
    await page.get_by_role("button", name="Send", exact=True).click()
    await expect(widget.agent_bubbles.filter(has_text="I am Sue, the team lead.")).to_have_count(1)
    await expect(alice_desk.locator("li.msg-agent .msg-text", has_text="I am Sue, the team lead.")).to_have_count(1)
    assert await widget.page.get_by_text("Offer a refund").count() == 0
    await page.get_by_role("button", name="Leave").click()
    await expect(widget.page.locator("li.msg.system", has_text="Sue (supervisor) left the conversation")).to_have_count(
        1
    )
    await expect(page.get_by_role("button", name="Barge in")).to_be_focused()
    await assert_accessible(page)

    # Reassign to Bob, chosen in the list: his desk gets the chat, Alice's closes it.
    await go_available(bob_desk, sb, "bob")
    target = page.get_by_label("Reassign to")
    await expect(target.locator("option", has_text="Bob")).to_have_count(1)
    await target.select_option(label="Bob")
    await page.get_by_role("button", name="Reassign").click()
    await expect(page.locator("#step-in-status")).to_have_text("Reassigned to Bob.")
    await expect(bob_desk.get_by_text("My parcel is lost").first).to_be_visible()
    await expect(alice_desk.get_by_text(re.compile("reassigned", re.IGNORECASE)).first).to_be_visible()
    await expect(widget.page.locator(".sub")).to_have_text("Chatting with Bob")

    # Alice goes not ready, with a reason, from the agents board (the monitor panel covers it), by keyboard.
    await page.get_by_role("button", name="Stop monitoring").click()
    await page.get_by_label("Agent", exact=True).select_option(label="Alice")
    await page.get_by_label("Not-ready reason").fill("coaching")
    await page.get_by_role("button", name="Set not ready").press("Enter")
    await expect(alice_desk.locator("#state-since")).to_contain_text("Not ready")
    assert await eventually(lambda: agent_state_is(sb, "alice", "not_ready"))
    await expect(board.agent_row("alice").locator(".badge")).to_have_text("Not ready")

    # Bob is signed out: his desk goes back to its sign-in form.
    await page.get_by_label("Agent", exact=True).select_option(label="Bob")
    await page.get_by_role("button", name="Sign the agent out").click()
    await expect(page.locator("#step-in-status")).to_have_text("Bob was signed out.")
    await expect(bob_desk.locator("#signin")).to_be_visible()
    assert await eventually(lambda: agent_state_is(sb, "bob", "offline"))

    assert board.problems == [] and widget.problems == []
    assert alice_errors == [] and [e for e in bob_errors if "4401" not in e] == []
