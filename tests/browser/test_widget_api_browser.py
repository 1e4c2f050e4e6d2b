"""The widget's JavaScript API for host pages (window.Switchboard): each call does what it
says and each event fires, on the demo page in a real Chromium against a real server,
with a protocol-level agent answering."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from playwright.async_api import Page, expect
from test_widget_browser import WAIT_MS, Widget, connected_agent, say

from support import eventually

EVENTS = ["ready", "chat.started", "message", "chat.ended", "unread"]

# Installed before any script of the page runs: the stub snippet of widget/README.md, then
# calls that wait in its queue until switchboard.js arrives.
RECORD_EVENTS = """
window.Switchboard = window.Switchboard || {q: []};
for (const m of ['open', 'close', 'identify', 'setAttributes', 'prefill', 'on', 'off']) {
  window.Switchboard[m] = window.Switchboard[m] || ((...args) => window.Switchboard.q.push([m, args]));
}
window.seen = [];
for (const name of EVENT_NAMES) {
  window.Switchboard.on(name, (detail) => window.seen.push([name, detail]));
}
""".replace("EVENT_NAMES", json.dumps(EVENTS))


async def open_recording(browser: Any, sb: Any, before_load: str = "") -> Widget:
    """The demo page, every widget event recorded in `window.seen` from before the widget loaded."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    await page.add_init_script(RECORD_EVENTS + before_load)
    widget = Widget(page)
    await page.goto(f"{sb.node.base}/demo")
    return widget


async def seen(page: Page, name: str) -> list[Any]:
    return [detail for event, detail in await page.evaluate("window.seen") if event == name]


async def until_seen(page: Page, name: str, count: int = 1) -> list[Any]:
    async def enough() -> list[Any] | None:
        details = await seen(page, name)
        return details if len(details) >= count else None

    return await eventually(enough, timeout=WAIT_MS / 1000)


async def test_calls_before_the_script_loaded_wait_in_the_stub_and_then_take_effect(browser, sb):
    w = await open_recording(
        browser,
        sb,
        "Switchboard.prefill({name: 'Grace', email: 'grace@example.com', topic: 'Returns', question: 'Hi'});"
        "Switchboard.open();",
    )
    await expect(w.panel).to_be_visible()
    await expect(w.page.get_by_label("Name")).to_have_value("Grace")
    await expect(w.page.get_by_label("Email")).to_have_value("grace@example.com")
    await expect(w.page.get_by_label("Topic")).to_have_value("Returns")
    await expect(w.page.get_by_label("How can we help?")).to_have_value("Hi")
    [ready] = await until_seen(w.page, "ready")
    assert ready["visitorId"] and ready["visitorToken"]
    assert await w.page.evaluate("typeof Switchboard.q") == "undefined"  # the stub is gone
    assert w.problems == []


async def test_open_close_and_prefill_once_loaded(browser, sb):
    w = await open_recording(browser, sb)
    await until_seen(w.page, "ready")
    await w.page.evaluate("Switchboard.open()")
    await expect(w.panel).to_be_visible()
    await expect(w.page.get_by_label("Name")).to_be_focused()
    await w.page.evaluate("Switchboard.close()")
    await expect(w.panel).to_be_hidden()
    await expect(w.launcher).to_be_focused()

    await w.page.evaluate("Switchboard.prefill({email: 'ada@example.com', question: 'Decaf?'})")
    await w.launcher.click()
    await expect(w.page.get_by_label("Email")).to_have_value("ada@example.com")
    await expect(w.page.get_by_label("How can we help?")).to_have_value("Decaf?")
    await expect(w.page.get_by_label("Name")).to_have_value("")
    # Bad arguments are refused with a clear error, the widget goes on.
    error = await w.page.evaluate("(() => { try { Switchboard.prefill('Ada'); } catch (e) { return e.message; } })()")
    assert "prefill takes an object" in error
    assert w.problems == []


async def test_events_of_a_chat_and_set_attributes_reaching_the_server(browser, sb):
    w = await open_recording(browser, sb)
    page = w.page
    await until_seen(page, "ready")
    await page.evaluate("Switchboard.setAttributes({plan: 'coffee club', order: 'A-1042'})")
    await w.start_chat("Where is my order?")
    [started] = await until_seen(page, "chat.started")
    alice, cid = await connected_agent(sb)
    assert started == {"conversationId": cid}

    # The attributes went with start_chat, beside the topic from the form.
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    services = sb.node.services
    stored = await services.redis.hget(services.router.keys.session(card["session_id"]), "attributes")
    assert json.loads(stored) == {"plan": "coffee club", "order": "A-1042", "topic": "My order"}

    [own] = await until_seen(page, "message")
    assert own["role"] == "customer" and own["text"] == "Where is my order?" and own["conversationId"] == cid
    await say(alice, cid, "It left the roastery today.")
    messages = await until_seen(page, "message", 2)
    assert messages[1]["role"] == "agent" and messages[1]["text"] == "It left the roastery today."
    assert messages[1]["name"] == "Alice" and messages[1]["seq"] > own["seq"]

    # Closed, the agent's messages count as unread; opening reads them.
    await page.evaluate("Switchboard.close()")
    await say(alice, cid, "Tracking: 123")
    await say(alice, cid, "Anything else?")
    unread = await until_seen(page, "unread", 2)
    assert [u["count"] for u in unread] == [1, 2]
    await expect(w.launcher).to_have_attribute("aria-label", "Open chat, 2 unread")
    await page.evaluate("Switchboard.open()")
    unread = await until_seen(page, "unread", 3)
    assert unread[-1] == {"count": 0}

    await alice.ok({"type": "end_session", "conversation_id": cid})
    [ended] = await until_seen(page, "chat.ended")
    assert ended == {"conversationId": cid}
    assert [event for event, _ in await page.evaluate("window.seen") if event == "ready"] == ["ready"]
    assert w.problems == []


async def test_off_removes_a_handler_and_a_bad_event_name_is_refused(browser, sb):
    w = await open_recording(browser, sb)
    await until_seen(w.page, "ready")
    await w.page.evaluate(
        """() => {
          window.counted = 0;
          window.count = () => { window.counted += 1; };
          Switchboard.on('unread', window.count);
          Switchboard.off('unread', window.count);
          Switchboard.on('ready', window.count);  // after ready: called at once
        }"""
    )
    assert await w.page.evaluate("window.counted") == 1
    error = await w.page.evaluate(
        "(() => { try { Switchboard.on('opened', () => {}); } catch (e) { return e.message; } })()"
    )
    assert "no event" in error and "chat.started" in error


async def test_identify_continues_as_the_visitor_a_signed_token_names(browser, sb):
    """A page passes the visitor token it kept for its signed-in user (say from an earlier `ready`):
    another browser continues as that visitor, in that visitor's open conversation."""
    first = await open_recording(browser, sb)
    [ready] = await until_seen(first.page, "ready")
    await first.start_chat("Started on my laptop")
    [started] = await until_seen(first.page, "chat.started")

    other = await open_recording(browser, sb, f"Switchboard.identify({json.dumps(ready['visitorToken'])});")
    [again] = await until_seen(other.page, "ready")
    assert again["visitorId"] == ready["visitorId"]
    await other.launcher.click()
    await expect(other.customer_bubbles.first).to_have_text("Started on my laptop")

    # Once loaded: a third browser with its own visitor switches over too.
    third = await open_recording(browser, sb)
    [own] = await until_seen(third.page, "ready")
    assert own["visitorId"] != ready["visitorId"]
    await third.page.evaluate("token => Switchboard.identify(token)", ready["visitorToken"])
    await third.launcher.click()
    await expect(third.customer_bubbles.first).to_have_text("Started on my laptop")
    stored = await third.page.evaluate(
        "server => JSON.parse(localStorage.getItem('switchboard:' + server))", sb.node.base
    )
    assert stored["token"] == ready["visitorToken"] and stored["conv"] == started["conversationId"]

    # A token the server did not sign is refused (4401): the widget starts over as a new visitor.
    forged = await open_recording(browser, sb, "Switchboard.identify('v1.someone.forged');")
    [fresh] = await until_seen(forged.page, "ready")
    assert fresh["visitorId"] not in (ready["visitorId"], own["visitorId"])
    for w in (first, other, third):
        assert w.problems == []


async def test_a_signed_in_customer_is_named_by_the_sites_signed_identity_on_every_device(browser, make_deployment):
    """The host page passes the JWT its back end signed for its signed-in customer: the agent sees
    that customer, verified; another device continues the chat; a browser whose customer signed
    out (the page no longer calls identify) shows nothing of it."""
    secret = "the-demo-site-identity-secret-" + "0123456789" * 4
    sb = await make_deployment(identity_secret=(secret,))
    await sb.queue("support")
    signed = jwt.encode(
        {"sub": "crm-7", "name": "Grace Hopper", "email": "grace@example.com", "exp": time.time() + 600},
        secret,
        algorithm="HS256",
    )
    call = f"if (!location.hash.includes('signed-out')) Switchboard.identify({{identity: {json.dumps(signed)}}});"
    laptop = await open_recording(browser, sb, call)
    [ready] = await until_seen(laptop.page, "ready")
    assert ready["visitorId"].startswith("vi_")
    await laptop.start_chat("Started signed in")
    alice, cid = await connected_agent(sb)
    assigned = await alice.expect("conversation.assigned", conversation_id=cid)
    customer = assigned["card"]["customer"]
    assert customer["verified"] is True and customer["external_id"] == "crm-7"
    assert customer["name"] == "Grace Hopper"  # not the "Bob" typed into the pre-chat form

    phone = await open_recording(browser, sb, call)
    await phone.launcher.click()
    await expect(phone.customer_bubbles.first).to_have_text("Started signed in")

    await laptop.page.goto(f"{sb.node.base}/demo#signed-out")
    await laptop.page.reload()
    [fresh] = await until_seen(laptop.page, "ready")
    assert fresh["visitorId"] != ready["visitorId"]
    await laptop.launcher.click()
    await expect(laptop.customer_bubbles).to_have_count(0)
    assert laptop.problems == [] and phone.problems == []
