"""After-contact work and not-ready reasons in a real headless Chromium: the desk's wrap-up dialog
(countdown, code search, several codes, required notes, the state afterwards), notes in wrap-up, the
state menu's configured reasons, and the supervisor's board with each agent's reason."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect
from test_desk_browser import accept_offer, go_available, open_desk
from test_supervisor_browser import Board

from axe import assert_accessible
from support import eventually

CODES = [
    {"code": "resolved", "label": "Resolved"},
    {"code": "refund", "label": "Refund issued"},
    {"code": "follow_up", "label": "Needs follow-up"},
]
REASONS = ["Break", "Coaching", "Lunch"]


async def agent_state(sb: Any, aid: str) -> tuple[str, str | None]:
    events = (await sb.admin("GET", "/api/v1/events"))["events"]
    last = [e for e in events if e["type"] == "agent.state_changed" and e["agent"] == aid][-1]
    return last["state"], last["reason"] or None


async def agent_is(sb: Any, aid: str, wanted: tuple[str, str | None]) -> bool:
    return await agent_state(sb, aid) == wanted


async def ended_at_the_desk(sb: Any, browser: Any) -> tuple[Any, list[str], Any, str]:
    """alice's desk, after she accepted a chat and ended it: the wrap-up dialog is open."""
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await go_available(page, sb, "alice")
    customer, started = await sb.chat(customer={"name": "Ann"})
    await accept_offer(page)
    await page.get_by_role("button", name="End session").first.click()
    await page.locator("#dlg-end").get_by_role("button", name="End session").click()
    await customer.expect("chat.ended")
    await expect(page.locator("#dlg-wrapup")).to_be_visible()
    return page, errors, customer, started["conversation_id"]


async def test_the_wrap_up_dialog_counts_down_searches_takes_several_codes_and_sets_the_next_state(sb, browser):
    await sb.queue("support", wrap_up_codes=CODES, max_dispositions=2, wrap_up_notes="required")
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})
    page, errors, _customer, cid = await ended_at_the_desk(sb, browser)
    wrap = page.locator("#dlg-wrapup")
    await expect(page.locator("#wrapup-countdown")).to_have_text(re.compile(r"^Time left: [12]:\d\d\.$"))
    await expect(page.locator("#wrapup-countdown")).to_have_attribute("role", "timer")
    await expect(page.locator("#wrapup-notes-label")).to_have_text("Notes (required)")
    await expect(page.locator("#wrapup-hint")).to_have_text("Choose up to 2 codes.")
    await assert_accessible(page)

    # The search narrows the codes; Enter picks the only one left.
    search = page.locator("#wrapup-search")
    await expect(search).to_be_focused()
    await search.fill("refund")
    await expect(wrap.get_by_role("checkbox")).to_have_count(1)
    await expect(page.locator("#wrapup-matches")).to_have_text("1 of 3 codes shown.")
    await search.press("Enter")
    await expect(wrap.get_by_label("Refund issued")).to_be_checked()
    await search.fill("zzz")
    await expect(page.locator("#wrapup-matches")).to_have_text("1 of 3 codes shown.")  # the chosen one stays
    await search.fill("")
    await wrap.get_by_label("Resolved").check()
    await wrap.get_by_label("Needs follow-up").click()  # a third is one too many
    await expect(wrap.get_by_label("Needs follow-up")).not_to_be_checked()
    await expect(page.locator("#wrapup-error")).to_have_text("At most 2 codes.")

    # Notes are required; the state afterwards is chosen from the configured reasons.
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(page.locator("#wrapup-error")).to_have_text("This queue needs wrap-up notes.")
    await expect(page.locator("#wrapup-notes")).to_be_focused()
    await page.locator("#wrapup-notes").fill("Refund for the broken lamp")
    options = await page.locator("#wrapup-next option").all_inner_texts()
    assert options == ["Keep my current state", "Available", *[f"Not ready · {r}" for r in REASONS]]
    await page.locator("#wrapup-next").select_option(label="Not ready · Coaching")
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(wrap).to_be_hidden()
    await expect(page.locator(".closed-item")).to_contain_text("Resolved, Refund issued")  # in the list's order
    await expect(page.locator("#state-since")).to_contain_text("Coaching")
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert [c["code"] for c in card["wrap_up"]["codes"]] == ["resolved", "refund"]
    assert card["wrap_up"]["notes"] == "Refund for the broken lamp"
    assert await agent_state(sb, "alice") == ("not_ready", "Coaching")
    assert errors == []


async def test_notes_in_wrap_up_and_a_countdown_that_names_the_default_code(sb, browser):
    await sb.queue("support", wrap_up_codes=CODES, wrap_up_timeout_s=20, default_wrap_up_code="follow_up")
    page, errors, customer, cid = await ended_at_the_desk(sb, browser)
    wrap = page.locator("#dlg-wrapup")
    await expect(page.locator("#wrapup-countdown")).to_contain_text("Then it closes as “Needs follow-up”.")
    await expect(page.locator("#wrapup-notes-label")).to_have_text("Notes (optional)")
    await expect(wrap.get_by_role("radio")).to_have_count(3)  # one code only: radio buttons
    await wrap.get_by_role("button", name="Later").click()

    # After the end the composer takes internal notes only, shown as text.
    box = page.locator("#composer-text")
    await expect(box).to_be_enabled()
    await expect(page.locator("#note-toggle")).to_be_checked()
    await expect(page.locator("#note-toggle")).to_be_disabled()
    await box.fill("<b>call back</b> on Monday")
    await box.press("Enter")
    await expect(page.locator(".msg-note:not(.pending) .msg-text")).to_have_text("<b>call back</b> on Monday")
    await assert_accessible(page)
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [n["text"] for n in detail["notes"]] == ["<b>call back</b> on Monday"]
    assert all(f["type"] != "note" for f in customer.frames)  # internal: never to the customer
    assert errors == []


async def test_the_state_menu_lists_the_configured_reasons(sb, browser):
    await sb.queue("support")
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})
    page, errors = await open_desk(browser, sb, await sb.agent("alice"))
    await expect(page.locator("#state-reasons option")).to_have_text([f"Not ready · {r}" for r in REASONS])
    await page.select_option("#state-select", "not_ready:Coaching")
    await eventually(lambda: agent_is(sb, "alice", ("not_ready", "Coaching")))
    await expect(page.locator("#state-since")).to_contain_text("Not ready (Coaching) since")
    await assert_accessible(page)
    assert errors == []


async def test_the_supervisors_board_shows_the_reason_and_the_time_in_state(make_deployment, browser):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support")
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})
    ann = await sb.available_agent("ann")
    await ann.ok({"type": "set_state", "state": "not_ready", "reason": "Lunch"})
    board = await Board.open(browser, sb)
    await board.sign_in(await sb.agent("sue", role="supervisor"))
    row = board.agent_row("ann")
    await expect(row.locator(".state-reason")).to_have_text("Lunch")
    await expect(row.locator(".badge")).to_have_text("Not ready")
    await expect(row.locator(".tick.in-state")).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    await expect(board.tile("support").locator(".tile-reasons")).to_have_text("Not ready: Lunch 1")
    await assert_accessible(board.page)
    assert board.problems == []
