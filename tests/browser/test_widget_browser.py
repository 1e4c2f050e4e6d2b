"""The chat widget (widget/switchboard.js) in a real headless Chromium, on the
demo page the server serves under its strict CSP, against a real server. The
agent side is a protocol-level agent client."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from axe import assert_accessible
from support import eventually, page_problems
from switchboard.gateway.static import MODULES_VERSION_PLACEHOLDER, WidgetFiles

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "widget" / "switchboard.js"
SHOTS = ROOT / "docs" / "screenshots"
CLOCK = re.compile(r"^\d{1,2}:\d{2}")
WAIT_MS = 8000


class Widget:
    """The demo page with the widget, and the browser-side problems it logged."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems = page_problems(page)
        self.launcher = page.locator(".launcher")
        self.panel = page.locator(".panel")
        self.agent_bubbles = page.locator("li.msg.agent .bubble")
        self.customer_bubbles = page.locator("li.msg.customer .bubble")
        self.input = page.get_by_label("Message", exact=True)

    @classmethod
    async def open_demo(cls, browser: Any, sb: Any, **context: Any) -> Widget:
        ctx = await browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **context})
        ctx.set_default_timeout(WAIT_MS)
        widget = cls(await ctx.new_page())
        await widget.page.goto(f"{sb.node.base}/demo")
        return widget

    async def start_chat(self, text: str = "Where is my order?") -> None:
        page = self.page
        await self.launcher.click()
        await page.get_by_label("Name").fill("Bob")
        await page.get_by_label("Email").fill("bob@example.com")
        await page.get_by_label("Topic").select_option("My order")
        await page.get_by_label("How can we help?").fill(text)
        await page.get_by_role("button", name="Start chat").click()
        await expect(self.customer_bubbles.last).to_have_text(text)

    def customer_sockets(self, sb: Any) -> list[Any]:
        return [s for s in sb.node.services.local.sockets if s.role == "customer"]


async def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """Into docs/screenshots when it has none yet or SWITCHBOARD_SCREENSHOTS=1 asks
    for new ones (they show clock times, so each run would change them), else
    into the test's temporary folder."""
    target = SHOTS / name
    if target.exists() and os.environ.get("SWITCHBOARD_SCREENSHOTS") != "1":
        target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target))


async def connected_agent(sb: Any, name: str = "alice") -> tuple[Any, str]:
    """The agent's client once it accepted the widget's chat, and the conversation id."""
    agent = await sb.available_agent(name)
    offer = await agent.expect("offer", timeout=WAIT_MS / 1000)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    return agent, offer["conversation_id"]


async def say(agent: Any, cid: str, text: str) -> dict[str, Any]:
    return await agent.ok({"type": "message", "conversation_id": cid, "text": text})


async def test_a_customer_chats_with_an_agent_end_to_end(browser, sb, tmp_path):
    alice = await sb.available_agent("alice")
    w = await Widget.open_demo(browser, sb)
    page = w.page
    # The site's own CSS (uppercase yellow buttons) does not reach into the shadow root.
    await expect(w.launcher).to_have_css("position", "fixed")
    await assert_accessible(page)
    await w.start_chat("Where is my order 1234?")
    await expect(page.locator(".status")).to_contain_text("You are number 1 in the queue")
    start = page.get_by_role("button", name="Start chat")
    await expect(start).to_be_hidden()

    offer = await alice.expect("offer", timeout=WAIT_MS / 1000)
    assert offer["customer"] == {"name": "Bob", "email": "bob@example.com", "verified": False}
    assert [m["text"] for m in offer["thread"]] == ["Where is my order 1234?"]
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    cid = offer["conversation_id"]
    await expect(page.locator(".sub")).to_have_text("Chatting with Alice")
    await expect(page.locator("li.msg.system").first).to_have_text(re.compile("Alice joined the chat"))

    # The agent types, then writes: the widget shows both.
    await alice.send({"type": "typing", "conversation_id": cid, "active": True})
    await expect(page.locator(".typing")).to_have_text("Alice is typing…")
    await say(alice, cid, "Hi Bob, let me check that for you.")
    await expect(w.agent_bubbles).to_have_text(["Hi Bob, let me check that for you."])
    await expect(page.locator(".typing")).to_be_hidden()
    await expect(page.locator("li.msg.agent .meta")).to_contain_text("Alice")
    await expect(page.locator("li.msg.agent time")).to_have_text(CLOCK)

    # The customer types (the agent sees it), then sends with Enter.
    await w.input.press_sequentially("Thank")
    typing = await alice.expect("typing", conversation_id=cid, active=True)
    assert typing["from"] == {"role": "customer"}
    await w.input.press_sequentially("s!")
    await w.input.press("Enter")
    got = await alice.expect("message", conversation_id=cid, text="Thanks!")
    assert got["from"]["role"] == "customer" and got["client_msg_id"]
    # Sending ends the typing indicator (the "stop" goes out before the message).
    await alice.wait(lambda f: f["type"] == "typing" and f["active"] is False, consume=False)
    mine = page.locator("li.msg.customer").last
    await expect(mine.locator(".tick")).to_have_attribute("data-state", "sent")
    await expect(mine.locator(".tick")).to_have_attribute("aria-label", "Sent")
    await expect(mine.locator("time")).to_have_text(CLOCK)
    await expect(w.input).to_have_value("")

    # A page view of a single-page app goes into the journey.
    await page.evaluate("history.pushState({}, '', '/demo?step=checkout')")

    async def journey() -> list[str]:
        card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
        return [p["url"] for p in card["journey"]]

    urls = await eventually(lambda: _two_or_more(journey))
    assert urls[0].endswith("/demo") and urls[-1].endswith("/demo?step=checkout")

    await say(alice, cid, "It left our roastery today: https://track.example.com/1234")
    link = page.locator("li.msg.agent a")
    await expect(link).to_have_attribute("href", "https://track.example.com/1234")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await screenshot(page, "widget.png", tmp_path)
    await assert_accessible(page)

    # The agent ends and wraps up; the customer rates the chat.
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await expect(page.locator("li.msg.system").last).to_have_text(re.compile("Chat ended"))
    await expect(w.input).to_be_hidden()
    await expect(page.locator(".sub")).to_be_hidden()
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await expect(page.get_by_text("How was your chat?")).to_be_visible()
    await page.get_by_label("4 of 5 stars").check()
    await page.get_by_label("Comment (optional)").fill("Quick and friendly")
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.get_by_text("Thank you for your feedback!")).to_be_visible()
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["csat"] == {"rating": 4, "comment": "Quick and friendly"}
    # A new chat starts from the form again.
    await page.get_by_role("button", name="Start a new chat").click()
    await expect(page.get_by_label("Name")).to_be_focused()
    await expect(w.customer_bubbles).to_have_count(0)
    assert w.problems == []


async def _two_or_more(probe: Any) -> list[str] | None:
    urls = await probe()
    return urls if len(urls) >= 2 else None


async def test_the_widget_reconnects_and_shows_what_it_missed_exactly_once(browser, sb):
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("Hello?")
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "one")
    await expect(w.agent_bubbles).to_have_text(["one"])
    await eventually(lambda: _async(len(w.customer_sockets(sb)) == 1))

    # The server drops the widget's socket; the agent goes on writing meanwhile.
    for sock in w.customer_sockets(sb):
        sock.close(1001, "server shutting down")
    for text in ("two", "three", "four"):
        await say(alice, cid, text)
    await expect(w.agent_bubbles).to_have_text(["one", "two", "three", "four"])
    await eventually(lambda: _async(len(w.customer_sockets(sb)) == 1))

    # Dropped again, with the customer writing while it is away: sent once, after the resume.
    for sock in w.customer_sockets(sb):
        sock.close(1001, "server shutting down")
    await w.input.fill("still there?")
    await w.input.press("Enter")
    await say(alice, cid, "five")
    await alice.expect("message", conversation_id=cid, text="still there?")
    await expect(w.agent_bubbles).to_have_text(["one", "two", "three", "four", "five"])
    await expect(w.customer_bubbles).to_have_text(["Hello?", "still there?"])
    await expect(w.page.locator("li.msg.customer .tick").last).to_have_attribute("data-state", "sent")
    await expect(w.page.locator(".status")).to_be_hidden()
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("still there?") == 1

    # A reload (or the next page) continues the same conversation with its transcript.
    await w.page.reload()
    await expect(w.panel).to_be_visible()
    await expect(w.agent_bubbles).to_have_text(["one", "two", "three", "four", "five"])
    await expect(w.customer_bubbles).to_have_text(["Hello?", "still there?"])
    await expect(w.page.locator(".sub")).to_have_text("Chatting with Alice")
    await w.input.fill("after the reload")
    await w.input.press("Enter")
    got = await alice.expect("message", text="after the reload")
    assert got["conversation_id"] == cid
    assert w.problems == []


async def _async(value: Any) -> Any:
    return value


async def test_markup_from_the_agent_shows_as_text(browser, sb):
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("<b>not bold</b>")
    alice, cid = await connected_agent(sb)
    script = "<script>window.hacked=1</script>"
    image = '<img src=x onerror="window.hacked=2">'
    await say(alice, cid, script)
    await say(alice, cid, image)
    await expect(w.agent_bubbles).to_have_text([script, image])
    await expect(w.customer_bubbles).to_have_text(["<b>not bold</b>"])
    assert await w.page.locator("li.msg img, li.msg script, li.msg b").count() == 0
    assert await w.page.evaluate("window.hacked") is None

    # With the panel closed, new messages show as a count on the launcher.
    await w.page.keyboard.press("Escape")
    await say(alice, cid, "Anything else?")
    await expect(w.page.locator(".badge")).to_have_text("1")
    await expect(w.launcher).to_have_attribute("aria-label", "Open chat, 1 unread")
    await w.launcher.click()
    await expect(w.page.locator(".badge")).to_be_hidden()
    await expect(w.agent_bubbles.last).to_have_text("Anything else?")

    # The customer ends the chat, after a confirmation (Escape cancels it).
    end = w.page.locator("header").get_by_role("button", name="End chat")
    confirm = w.page.locator(".confirm").get_by_role("button", name="End chat")
    await end.click()
    await expect(confirm).to_be_focused()
    await w.page.keyboard.press("Escape")
    await expect(confirm).to_be_hidden()
    await expect(end).to_be_focused()
    await end.click()
    await confirm.click()
    ended = await alice.expect("chat.ended", conversation_id=cid)
    assert ended["reason"] == "customer_ended"
    await expect(w.page.get_by_text("How was your chat?")).to_be_visible()
    await expect(end).to_be_hidden()
    assert w.problems == []


async def test_a_refused_visitor_token_starts_over_as_a_new_visitor(browser, sb):
    ctx = await browser.new_context()
    ctx.set_default_timeout(WAIT_MS)
    forged = json.dumps({"token": "forged", "conv": "c_gone", "open": True})
    await ctx.add_init_script(
        f"localStorage.setItem({json.dumps('switchboard:' + sb.node.base)}, {json.dumps(forged)})"
    )
    w = Widget(await ctx.new_page())
    await w.page.goto(f"{sb.node.base}/demo")
    await w.start_chat("Hello again")
    _alice, cid = await connected_agent(sb)
    stored = json.loads(await w.page.evaluate(f"localStorage.getItem({json.dumps('switchboard:' + sb.node.base)})"))
    assert stored["token"] not in (None, "forged") and stored["conv"] == cid
    assert w.problems == []


async def test_keyboard_and_phone_sized_screen(browser, sb, tmp_path):
    w = await Widget.open_demo(browser, sb, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = w.page
    await w.launcher.focus()
    await page.keyboard.press("Enter")
    await expect(w.panel).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_focused()
    # Pre-chat validation: the email must look like one.
    await page.get_by_label("Name").fill("Bob")
    await page.get_by_label("Email").fill("not an address")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_text("Please enter a valid email address.")).to_be_visible()
    await expect(page.get_by_label("Email")).to_be_focused()
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    await page.keyboard.press("Escape")
    await expect(w.panel).to_be_hidden()
    await expect(w.launcher).to_be_focused()
    await expect(w.launcher).to_have_attribute("aria-expanded", "false")

    await page.keyboard.press("Enter")
    await page.get_by_label("Email").fill("bob@example.com")
    await page.get_by_label("How can we help?").fill("Do you ship to Austria?")
    await page.get_by_role("button", name="Start chat").click()
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "Yes, within 3 days, for CHF 9.")
    await expect(w.agent_bubbles).to_have_text(["Yes, within 3 days, for CHF 9."])
    await expect(w.input).to_be_focused()
    # Below 480 px the panel fills the screen.
    box = await w.panel.bounding_box()
    assert box is not None and (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 390, 844)
    await screenshot(page, "widget-phone.png", tmp_path)
    assert w.problems == []


async def test_a_closed_queue_shows_the_server_message(browser, sb):
    await sb.queue(
        "support",
        business_hours={
            "time_zone": "UTC",
            "weekly": {},
            "closed_message": "We are closed today. Back on Monday at 8:00.",
        },
    )
    w = await Widget.open_demo(browser, sb)
    await w.launcher.click()
    await w.page.get_by_label("Name").fill("Bob")
    await w.page.get_by_role("button", name="Start chat").click()
    await expect(w.page.get_by_role("alert")).to_have_text("We are closed today. Back on Monday at 8:00.")
    await expect(w.page.get_by_role("button", name="Start chat")).to_be_enabled()


async def test_the_widget_script_travels_compressed_and_is_at_most_20_kb_so(sb):
    """What a browser downloads (issue 18 replaces the limit on the source's bytes, which
    forced code to be written for bytes rather than readers, with this one)."""
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        raw = await http.send(
            http.build_request("GET", "/widget/switchboard.js", headers={"Accept-Encoding": "gzip"}), stream=True
        )
        sent = b"".join([chunk async for chunk in raw.aiter_raw()])
        await raw.aclose()
        plain = await http.get("/widget/switchboard.js", headers={"Accept-Encoding": "identity"})
    assert raw.headers["content-encoding"] == "gzip" and "accept-encoding" in raw.headers["vary"].lower()
    # The file as it is, with the version of the chat modules written over its placeholder.
    version = WidgetFiles.read(ROOT / "widget").version.encode()
    assert gzip.decompress(sent) == SCRIPT.read_bytes().replace(MODULES_VERSION_PLACEHOLDER, version) == plain.content
    assert "content-encoding" not in plain.headers
    assert len(sent) <= 20_000


async def test_a_proactive_invitation_shows_in_the_widget_and_accepting_opens_the_chat(browser, sb):
    alice = await sb.available_agent("alice")
    widget = await Widget.open_demo(browser, sb)

    async def online() -> list[dict[str, Any]]:  # once the widget's page view is in
        return [v for v in (await sb.admin("GET", "/api/v1/visitors?online=true"))["visitors"] if v["page"]]

    [visitor] = await eventually(online)
    assert visitor["page"]["url"].endswith("/demo")
    sent = await sb.admin(
        "POST",
        f"/api/v1/visitors/{visitor['visitor_id']}/invite",
        {"queue": "support", "text": "Need a hand <b>choosing</b>?"},
        expect=201,
    )
    bubble = widget.page.locator(".invite")
    await expect(bubble.locator("p")).to_have_text("Need a hand <b>choosing</b>?")
    await bubble.get_by_role("button", name="Chat now").click()
    offer = await alice.expect("offer", timeout=WAIT_MS / 1000)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "message", "conversation_id": offer["conversation_id"], "text": "Happy to help!"})
    await expect(widget.agent_bubbles.last).to_have_text("Happy to help!")
    events = (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]
    kinds = [e["type"] for e in events if e.get("invite_id") == sent["invite_id"]]
    assert kinds == ["invite.sent", "invite.accepted"]
    assert widget.problems == []


async def test_a_half_open_connection_is_given_up_and_the_message_goes_out_after_all(browser, sb):
    """A phone waking up: the socket looks open but nothing gets through either way.
    The widget gives up on it when an answer does not come, and the reconnect
    delivers the message once."""
    ctx = await browser.new_context()
    ctx.set_default_timeout(WAIT_MS)
    w = Widget(await ctx.new_page())
    dead: list[Any] = []  # the relayed sockets that went silent
    relayed: list[Any] = []

    async def relay(ws: Any) -> None:
        relayed.append(ws)
        server = ws.connect_to_server()
        ws.on_message(lambda m: None if ws in dead else server.send(m))
        server.on_message(lambda m: None if ws in dead else ws.send(m))

    await w.page.route_web_socket(re.compile(r"/ws/customer$"), relay)
    await w.page.goto(f"{sb.node.base}/demo")
    await w.start_chat("Hello?")
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "one")
    await expect(w.agent_bubbles).to_have_text(["one"])
    dead.append(relayed[-1])
    await w.input.fill("are you there?")
    await w.input.press("Enter")
    got = await alice.expect("message", conversation_id=cid, text="are you there?", timeout=20)
    assert got["from"]["role"] == "customer"
    await expect(w.page.locator("li.msg.customer .tick").last).to_have_attribute("data-state", "sent")
    assert len(relayed) == 2
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [m["text"] for m in detail["messages"]].count("are you there?") == 1
    assert w.problems == []


async def test_two_tabs_opened_at_once_are_one_visitor_and_a_reload_keeps_the_chat(browser, sb):
    ctx = await browser.new_context()
    ctx.set_default_timeout(WAIT_MS)
    held: list[tuple[Any, Any]] = []  # the first two welcomes: both tabs said hello without a token

    async def relay(ws: Any) -> None:
        server = ws.connect_to_server()

        def downstream(message: Any) -> None:
            if len(held) < 2 and '"welcome"' in str(message):
                held.append((ws, message))
                return
            ws.send(message)

        server.on_message(downstream)

    await ctx.route_web_socket(re.compile(r"/ws/customer$"), relay)
    first = Widget(await ctx.new_page())
    second = Widget(await ctx.new_page())
    await first.page.goto(f"{sb.node.base}/demo")
    await second.page.goto(f"{sb.node.base}/demo")
    key = json.dumps("switchboard:" + sb.node.base)

    async def stored_token(page: Page) -> str | None:
        return (json.loads(await page.evaluate(f"localStorage.getItem({key})") or "{}")).get("token")

    await eventually(lambda: _async(len(held) == 2))
    held[0][0].send(held[0][1])  # one tab gets its welcome and stores its token ...
    await eventually(lambda: stored_token(second.page))
    held[1][0].send(held[1][1])  # ... then the other gets a welcome for a second visitor

    async def one_visitor() -> bool:
        sockets = [s for s in sb.node.services.local.sockets if s.role == "customer"]
        return len(sockets) == 2 and len({s.visitor_id for s in sockets}) == 1

    await eventually(one_visitor)
    await first.start_chat("Hello from the first tab")
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "Hi!")
    await expect(first.agent_bubbles).to_have_text(["Hi!"])
    await expect(second.agent_bubbles).to_have_text(["Hi!"])  # the other tab follows the chat
    await second.launcher.click()  # writes to the storage both tabs share
    await second.launcher.click()
    await first.page.reload()
    await expect(first.agent_bubbles).to_have_text(["Hi!"])
    await expect(first.customer_bubbles).to_have_text(["Hello from the first tab"])
    assert first.problems == [] and second.problems == []


async def test_a_reload_while_the_chat_is_back_in_the_queue_shows_waiting(browser, make_deployment):
    # The grace is the agent's and the customer's: long enough for a loaded page's reload,
    # or the customer would be gone too and the reload would find the chat ended.
    sb = await make_deployment(disconnect_grace_s=3)
    await sb.queue("support")
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("Hello?")
    alice, _cid = await connected_agent(sb)
    await expect(w.page.locator(".sub")).to_have_text("Chatting with Alice")
    await alice.close()  # gone past the grace: the chat goes back to the queue
    await expect(w.page.locator(".status")).to_contain_text(re.compile("queue|Waiting"))
    await w.page.reload()
    await expect(w.panel).to_be_visible()
    await expect(w.page.locator(".status")).to_contain_text(re.compile("queue|Waiting"))
    await expect(w.page.locator(".sub")).to_be_hidden()
    # the next agent connects it again
    bob = await sb.available_agent("bob")
    offer = await bob.expect("offer", timeout=WAIT_MS / 1000)
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await expect(w.page.locator(".sub")).to_have_text("Chatting with Bob")
    assert w.problems == []


async def test_a_chat_that_ended_while_the_page_was_away_says_so(browser, sb):
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("Hello?")
    alice, cid = await connected_agent(sb)
    await say(alice, cid, "one")
    await expect(w.agent_bubbles).to_have_text(["one"])
    await eventually(lambda: _async(len(w.customer_sockets(sb)) == 1))
    # The widget's socket is gone while the agent ends the chat and wraps it up.
    for sock in w.customer_sockets(sb):
        sock.close(1001, "server shutting down")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await expect(w.page.locator("li.msg.system .bubble").last).to_have_text("Chat ended")
    await expect(w.page.get_by_role("button", name="Start a new chat")).to_be_visible()
    assert w.problems == []


async def test_a_language_tag_intl_refuses_falls_back_to_english(browser, sb):
    ctx = await browser.new_context()
    page = await ctx.new_page()
    problems = page_problems(page)
    await page.goto(f"{sb.node.base}/demo")
    await page.evaluate("""() => {
        document.querySelector('switchboard-chat')?.remove();
        delete window.Switchboard;
        const tag = document.createElement('script');
        tag.src = '/widget/switchboard.js?again';
        tag.dataset.queue = 'support';
        tag.dataset.language = 'de-1';
        document.body.append(tag);
    }""")
    await expect(page.locator("switchboard-chat .launcher")).to_have_attribute("aria-label", "Chat öffnen")
    assert problems == []


async def test_an_invitation_goes_away_when_it_expires(browser, sb):
    widget = await Widget.open_demo(browser, sb)
    await widget.page.clock.install()

    async def online() -> list[dict[str, Any]]:
        return [v for v in (await sb.admin("GET", "/api/v1/visitors?online=true"))["visitors"] if v["page"]]

    [visitor] = await eventually(online)
    await sb.admin(
        "POST",
        f"/api/v1/visitors/{visitor['visitor_id']}/invite",
        {"queue": "support", "text": "Need a hand?"},
        expect=201,
    )
    bubble = widget.page.locator(".invite")
    await expect(bubble).to_be_visible()
    await widget.page.clock.fast_forward("10:01")
    await expect(bubble).to_be_hidden()


async def test_a_landscape_phone_gets_the_full_screen_panel(browser, sb):
    w = await Widget.open_demo(browser, sb, viewport={"width": 844, "height": 390}, has_touch=True, is_mobile=True)
    await w.launcher.click()
    await expect(w.panel).to_be_visible()
    box = await w.panel.bounding_box()
    assert box is not None and round(box["x"]) == 0 and round(box["width"]) == 844 and round(box["height"]) == 390


async def test_the_full_screen_panel_is_modal_and_tab_stays_in_it(browser, sb):
    """On a phone the panel covers the page, so the focus goes round inside it."""
    w = await Widget.open_demo(browser, sb, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page, panel = w.page, w.panel
    close = panel.get_by_role("button", name="Close chat")
    start = panel.get_by_role("button", name="Start chat")
    await w.launcher.click()
    await expect(panel).to_have_attribute("aria-modal", "true")
    await expect(page.get_by_label("Name")).to_be_focused()
    for _ in range(6):  # email, topic, question, start, close, name: once round
        await page.keyboard.press("Tab")
        await expect(panel.locator(":focus")).to_have_count(1)
    await expect(page.get_by_label("Name")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(close).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(start).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(close).to_be_focused()
    # The page behind had the focus (a reload with the panel open, a page script): Tab comes back.
    await page.get_by_role("link", name="Cart (2)").focus()
    await page.keyboard.press("Tab")
    await expect(close).to_be_focused()

    # In a chat the ends are other buttons.
    await page.get_by_label("Name").fill("Bob")
    await start.click()
    await expect(w.input).to_be_focused()
    end, send = panel.get_by_role("button", name="End chat"), panel.get_by_role("button", name="Send")
    await send.focus()
    await page.keyboard.press("Tab")
    await expect(end).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(send).to_be_focused()

    # Closed, the trap is gone: the focus is on the launcher and may leave for the page.
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(w.launcher).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Add to cart").last).to_be_focused()
    assert w.problems == []


async def test_a_floating_panel_lets_tab_leave_and_turning_the_phone_makes_it_modal(browser, sb):
    w = await Widget.open_demo(browser, sb)
    page, panel = w.page, w.panel
    close = panel.get_by_role("button", name="Close chat")
    start = panel.get_by_role("button", name="Start chat")
    await w.launcher.click()
    await expect(page.get_by_label("Name")).to_be_focused()
    await expect(panel).not_to_have_attribute("aria-modal", "true")
    await close.focus()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Add to cart").last).to_be_focused()
    await start.focus()
    await page.keyboard.press("Tab")
    await expect(w.launcher).to_be_focused()

    # Turned sideways (500 px high or less), the panel fills the screen and is modal.
    await page.set_viewport_size({"width": 844, "height": 390})
    await expect(panel).to_have_attribute("aria-modal", "true")
    await close.focus()
    await page.keyboard.press("Shift+Tab")
    await expect(start).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(close).to_be_focused()

    await page.set_viewport_size({"width": 1280, "height": 800})
    await expect(panel).not_to_have_attribute("aria-modal", "true")
    await start.focus()
    await page.keyboard.press("Tab")
    await expect(w.launcher).to_be_focused()
    assert w.problems == []


async def test_a_redacted_message_shows_as_removed_live_and_after_a_reload(browser, sb):
    w = await Widget.open_demo(browser, sb)
    await w.start_chat("my card is 4111 1111 1111 1111")
    _alice, cid = await connected_agent(sb)
    seq = next(
        m["seq"] for m in (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["messages"] if "4111" in m["text"]
    )
    await sb.admin("DELETE", f"/api/v1/conversations/{cid}/messages/{seq}", expect=204)
    await expect(w.customer_bubbles.first).to_have_text("Message removed")
    await w.page.reload()
    await w.launcher.click()
    await expect(w.customer_bubbles.first).to_have_text("Message removed")
    assert "4111" not in await w.panel.inner_text()
