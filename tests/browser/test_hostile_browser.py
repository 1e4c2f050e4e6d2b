"""Text is text: hostile strings in every field a person can type end up on the
widget, the desk and the supervisor view as plain text, in a real Chromium.

Markup (`<script>`, `<img onerror>`, `<svg onload>`), `javascript:` links and a
right-to-left override go into the customer's name and messages, the agent's
messages and notes, a canned response, the queue's name and the agent's display
name. Then, on each page: the strings are shown as sent, no script ran
(`window.hacked` is unset, the pages logged no CSP violation or error), no element
carries an event handler or a `javascript:` address, and no text outside the
hostile strings is drawn reversed (an override must not leak out of its element).
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from axe import assert_accessible
from support import eventually, page_problems

WAIT_MS = 8000
SCRIPT = '<script>window.hacked="script"</script>'
IMG = "<img src=x onerror=\"window.hacked='img'\">"
LINK = "<a href=\"javascript:window.hacked='link'\">click me</a>"
BARE = "javascript:window.hacked='bare'//https://shop.example/"
SVG = "<svg onload=\"window.hacked='svg'\"></svg>"
RTL = "Eve\u202eexe.gnp"  # an override that is never closed: it must not reach text after it
CUSTOMER_NAME = f"{RTL} {IMG}"
CUSTOMER_TEXTS = [SCRIPT, IMG, LINK, BARE, SVG, RTL]
AGENT_TEXTS = [LINK, f"{SVG} {RTL}", BARE]
NOTE = f"note: {IMG} {RTL}"
QUEUE_NAME = f"{SVG} Support {RTL}"
AGENT_NAME = f"{LINK} Alice {RTL}"

# Everything a page may do wrong with hostile text, found by walking its DOM (and
# the widget's shadow root).
INSPECT = """(hostile) => {
  const roots = [document];
  for (let i = 0; i < roots.length; i++) {
    for (const el of roots[i].querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  }
  const found = {handlers: [], links: [], embeds: [], inline_scripts: [], reversed: []};
  for (const root of roots) {
    for (const el of root.querySelectorAll('*')) {
      for (const a of el.attributes) if (a.name.startsWith('on')) found.handlers.push(el.outerHTML.slice(0, 80));
      const href = el.getAttribute('href') || el.getAttribute('src') || '';
      if (/^\\s*javascript:/i.test(href)) found.links.push(el.outerHTML.slice(0, 80));
    }
    for (const el of root.querySelectorAll('iframe, object, embed, svg[onload], img[onerror]')) found.embeds.push(el.outerHTML.slice(0, 80));
    for (const el of root.querySelectorAll('script:not([src])')) found.inline_scripts.push(el.outerHTML.slice(0, 80));
    // Latin text outside the hostile strings must run left to right: its first
    // letter left of its last one, when both are drawn on one line.
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.data;
      // In a text node with a hostile string, only what follows it is checked.
      let from = -1;
      for (const h of hostile) {
        const at = text.lastIndexOf(h);
        if (at >= 0) from = Math.max(from, at + h.length);
      }
      if (from < 0 && /[\\u202a-\\u202e\\u2066-\\u2069]/.test(text)) continue;
      const letters = [...text.matchAll(/[A-Za-z]/g)].filter((m) => m.index >= from);
      if (letters.length < 2) continue;
      const first = letters[0].index, last = letters[letters.length - 1].index;
      range.setStart(node, first); range.setEnd(node, first + 1);
      const a = range.getBoundingClientRect();
      range.setStart(node, last); range.setEnd(node, last + 1);
      const b = range.getBoundingClientRect();
      if (!a.width || !b.width || Math.abs(a.top - b.top) > 2) continue;
      if (a.left > b.left) found.reversed.push(JSON.stringify(text) + " IN " + node.parentElement.outerHTML.slice(0, 300));
    }
  }
  found.hacked = window.hacked === undefined ? null : String(window.hacked);
  return found;
}"""


def shown(text: str) -> re.Pattern[str]:
    """The text as a page shows it: a name with bidi controls may be wrapped in an
    isolate (FSI ... PDI), which changes no character of it."""
    return re.compile("^\u2068?" + re.escape(text) + "\u2069?$")


async def open_page(browser: Any, url: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    problems = page_problems(page)
    await page.goto(url)
    return page, problems


async def assert_harmless(page: Page, problems: list[str], where: str) -> None:
    hostile = [CUSTOMER_NAME, QUEUE_NAME, AGENT_NAME, NOTE, *CUSTOMER_TEXTS, *AGENT_TEXTS, f"{IMG} {RTL}"]
    found = await page.evaluate(INSPECT, [h for h in hostile if RTL in h])
    assert found == {"handlers": [], "links": [], "embeds": [], "inline_scripts": [], "reversed": [], "hacked": None}, (
        where,
        found,
    )
    assert problems == [], (where, problems)


async def test_hostile_text_is_only_text_in_the_widget_the_desk_and_the_supervisor_view(make_deployment, browser):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support", name=QUEUE_NAME)
    await sb.admin(
        "PUT", "/api/v1/canned-responses/trap", {"title": f"{SCRIPT} greeting", "text": f"{IMG} {RTL}"}, expect=201
    )
    alice = await sb.agent("alice", display_name=AGENT_NAME)
    sue = await sb.agent("sue", role="supervisor")

    desk, desk_problems = await open_page(browser, f"{sb.node.base}/desk#token={alice}")
    await expect(desk.locator("#connection")).to_have_text("Connected")
    await desk.select_option("#state-select", "available")

    async def available() -> bool:
        return (await sb.admin("GET", "/api/v1/agents/alice"))["state"] == "available"

    await eventually(available)

    board, board_problems = await open_page(browser, f"{sb.node.base}/supervisor#paste")
    await board.get_by_label("Agent token").fill(sue)
    await board.get_by_role("button", name="Sign in").click()
    await expect(board.locator("#conn")).to_have_text("Live")

    # The customer, through the widget on the demo page.
    widget, widget_problems = await open_page(browser, f"{sb.node.base}/demo")
    await widget.locator(".launcher").click()
    await widget.get_by_label("Name").fill(CUSTOMER_NAME)
    await widget.get_by_label("Email").fill("eve@example.com")
    await widget.get_by_label("Topic").select_option("My order")
    await widget.get_by_label("How can we help?").fill(CUSTOMER_TEXTS[0])
    await widget.get_by_role("button", name="Start chat").click()
    customer_bubbles = widget.locator("li.msg.customer .bubble")
    await expect(customer_bubbles.last).to_have_text(CUSTOMER_TEXTS[0])

    popup = desk.locator(".offer-popup")
    await expect(popup.locator(".offer-title")).to_have_text(shown(CUSTOMER_NAME))
    await popup.get_by_role("button", name="Accept").click()
    await expect(popup).to_have_count(0)

    message_box = widget.get_by_label("Message", exact=True)
    for text in CUSTOMER_TEXTS[1:]:
        await message_box.fill(text)
        await message_box.press("Enter")
    await expect(customer_bubbles).to_have_text(CUSTOMER_TEXTS)

    composer = desk.locator("#composer-text")
    for text in AGENT_TEXTS:
        await composer.fill(text)
        await composer.press("Enter")
    await desk.locator("#note-toggle").check()
    await composer.fill(NOTE)
    await composer.press("Enter")
    await desk.locator("#note-toggle").uncheck()
    # The canned response, inserted from its dialog and sent.
    await desk.locator("#canned-open").click()
    await expect(desk.locator("#canned-list .canned-title")).to_have_text([f"{SCRIPT} greeting"])
    await desk.locator("#canned-list .canned-item").first.click()

    async def canned_in_composer() -> bool:
        return await composer.input_value() == f"{IMG} {RTL}"

    await eventually(canned_in_composer)
    await composer.press("Enter")

    sent_by_agent = [*AGENT_TEXTS, f"{IMG} {RTL}"]
    await expect(widget.locator("li.msg.agent .bubble")).to_have_text(sent_by_agent)
    await expect(desk.locator(".msg-customer .msg-text")).to_have_text(CUSTOMER_TEXTS)
    await expect(desk.locator(".msg-agent:not(.msg-note) .msg-text")).to_have_text(sent_by_agent)
    await expect(desk.locator(".msg-note .msg-text")).to_have_text([NOTE])
    await expect(desk.locator(".tab-name")).to_have_text(shown(CUSTOMER_NAME))
    assert AGENT_NAME in await widget.locator(".panel").inner_text()

    # The supervisor monitors the conversation: everything again, notes included.
    card = board.locator("#cards > li.card").first
    await expect(card.locator(".customer")).to_have_text(shown(CUSTOMER_NAME))
    await card.get_by_role("button", name="Monitor").click()
    everything = [*CUSTOMER_TEXTS, NOTE, *sent_by_agent]
    for text in set(everything):
        exact = re.compile("^" + re.escape(text) + "$")
        entries = board.locator("#transcript > li .entry-text").filter(has_text=exact)
        await expect(entries).to_have_count(everything.count(text))
    assert QUEUE_NAME in await board.locator("#tiles").inner_text()
    assert AGENT_NAME in await board.locator("#agents").inner_text()

    # What the store kept is what was sent.
    await sb.archive_caught_up()  # search reads PostgreSQL
    cid = (await sb.admin("GET", "/api/v1/conversations"))["conversations"][0]["conversation_id"]
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    texts = [m["text"] for m in detail["messages"] if m.get("from", {}).get("role") in ("customer", "agent")]
    assert texts == [*CUSTOMER_TEXTS, *sent_by_agent] or sorted(texts) == sorted([*CUSTOMER_TEXTS, *sent_by_agent])
    assert [n["text"] for n in detail["notes"]] == [NOTE]
    assert detail["card"]["customer"]["name"] == CUSTOMER_NAME

    for page, problems, where in (
        (widget, widget_problems, "widget"),
        (desk, desk_problems, "desk"),
        (board, board_problems, "supervisor"),
    ):
        await assert_harmless(page, problems, where)
        await assert_accessible(page)
