"""The agent desk (/desk, widget/desk.*) in a real headless Chromium, against a real
server and Redis. Customers and other agents are protocol-level clients."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from axe import assert_accessible
from support import eventually

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CODES = [{"code": "resolved", "label": "Resolved"}, {"code": "follow_up", "label": "Needs follow-up"}]


async def open_desk(browser: Any, sb: Any, token: str) -> tuple[Page, list[str]]:
    """A desk page signed in through the URL fragment; returns it and its page errors."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    return page, errors


async def go_available(page: Page, sb: Any, aid: str) -> None:
    await page.select_option("#state-select", "available")
    await expect(page.locator("#state-since")).to_contain_text("Available")
    await eventually(lambda: agent_state_is(sb, aid, "available"))


async def agent_state_is(sb: Any, aid: str, state: str) -> bool:
    return (await sb.admin("GET", f"/api/v1/agents/{aid}"))["state"] == state


async def accept_offer(page: Page) -> None:
    popup = page.locator(".offer-popup")
    await expect(popup).to_have_count(1)
    await popup.get_by_role("button", name="Accept").click()
    await expect(popup).to_have_count(0)


def shot_path(name: str, tmp_path: Path) -> Path:
    """docs/screenshots when it has none yet or SWITCHBOARD_SCREENSHOTS=1 asks for
    new ones (they show clock times, so each run would change them), else the
    test's temporary folder."""
    target = SCREENSHOTS / name
    if target.exists() and os.environ.get("SWITCHBOARD_SCREENSHOTS") != "1":
        target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


async def test_a_chat_end_to_end_through_the_desk(sb, browser, tmp_path):
    await sb.queue("support", wrap_up_codes=CODES)
    await sb.queue("billing")
    token = await sb.agent("alice", queues=["support", "billing"])
    await sb.queue("vip")
    bob = await sb.available_agent("bob", queues=["billing"])
    carol = await sb.available_agent("carol", queues=["vip"])
    await sb.admin(
        "PUT",
        "/api/v1/canned-responses/greet",
        {
            "title": "Greeting",
            "text": "Hello {customer.name}, {agent.display_name} from {queue.name} here.{customer.phone}",
        },
        expect=201,
    )
    page, errors = await open_desk(browser, sb, token)
    assert "#token" not in page.url, "the token leaves the address bar"
    assert await page.evaluate("sessionStorage.getItem('switchboard.desk.token')") == token
    assert await page.evaluate("localStorage.getItem('switchboard.desk.token')") is None
    await go_available(page, sb, "alice")

    # The offer pops up with the customer, the queue, the thread and a running timer.
    customer, started = await sb.chat(text="Hi, my order is late", customer={"name": "Ann", "email": "ann@example.com"})
    cid = started["conversation_id"]
    await customer.send({"type": "page_view", "url": "https://shop.example.com/orders/4711", "title": "Order 4711"})
    popup = page.locator(".offer-popup")
    await expect(popup).to_be_visible()
    await expect(popup.locator(".offer-title")).to_have_text("Ann")
    await expect(popup.locator(".offer-meta")).to_contain_text("Support")
    await expect(popup.locator(".offer-thread")).to_contain_text("Hi, my order is late")
    await expect(popup.locator(".offer-kind")).to_have_text("New chat")
    await expect(popup.locator(".offer-waited")).to_have_text(re.compile(r"^0:0[1-9]$"))  # it runs
    await accept_offer(page)
    await customer.expect("chat.connected")

    # The tab and its card.
    tab = page.locator(".tab")
    await expect(tab).to_have_count(1)
    await expect(tab).to_have_class(re.compile(r"color-blue"))
    await expect(tab.locator(".tab-name")).to_have_text("Ann")
    await expect(tab.locator(".tab-title")).to_have_text("Webchat")
    await expect(tab.locator(".tab-status")).to_have_text("Active")
    await expect(page.locator("#card .card-queue")).to_have_text("Support")
    await expect(page.locator("#profile .profile-email")).to_have_text("ann@example.com")
    await expect(page.locator("#transcript")).to_contain_text("Hi, my order is late")

    # Typing both ways.
    await customer.send({"type": "typing", "active": True, "preview": "Where is"})
    await expect(page.locator("#typing")).to_contain_text("Ann is typing")
    box = page.locator("#composer-text")
    await box.press_sequentially("Let me")
    typing = await customer.expect("typing", active=True)
    assert typing["from"]["id"] == "alice"
    await expect(page.locator("#counter")).to_have_text("6/1000")
    await box.fill("Let me check that for you.")
    await box.press("Enter")
    assert (await customer.expect("message", text="Let me check that for you."))["from"]["id"] == "alice"
    await expect(box).to_have_value("")
    await customer.ok({"type": "message", "text": "Order 4711, thanks"})
    await expect(page.locator(".msg-customer").last).to_contain_text("Order 4711, thanks")
    await expect(page.locator("#typing")).to_have_text("")

    # Shift+Enter is a new line; over 1000 characters the desk refuses to send.
    await box.fill("x" * 1001)
    await expect(page.locator("#counter")).to_have_text("1001/1000")
    await expect(page.locator("#counter")).to_have_class(re.compile("over"))
    await expect(page.locator("#send")).to_be_disabled()
    await box.fill("")

    # An internal note looks like one and never reaches the customer.
    await page.locator("#note-toggle").check()
    await box.fill("VIP: second late order this month")
    await box.press("Enter")
    note = page.locator(".msg-note:not(.pending)")
    await expect(note).to_have_count(1)
    await expect(note.locator(".note-label")).to_have_text("Internal note")
    await page.locator("#note-toggle").uncheck()

    # A canned response, its placeholders filled from the card and the profile.
    await box.focus()
    await page.keyboard.press("/")
    await expect(page.locator("#dlg-canned")).to_be_visible()
    await page.locator("#canned-search").fill("greet")
    await expect(page.locator(".canned-item")).to_have_count(1)
    await page.locator("#canned-search").press("Enter")
    await expect(box).to_have_value("Hello Ann, Alice from Support here.")
    await box.press("Enter")
    await customer.expect("message", text="Hello Ann, Alice from Support here.")
    assert not [f for f in customer.frames if "VIP" in str(f.get("text", ""))], "notes never reach the customer"

    await page.screenshot(path=str(shot_path("desk.png", tmp_path)), animations="disabled")
    await assert_accessible(page)

    # The contact is verified from the profile.
    await page.get_by_text("Verify contact…").click()
    await page.get_by_role("button", name="Mark as verified").click()
    await expect(page.locator("#profile .profile-verified")).to_have_text("Verified")

    # A second chat rings while the first is open: a second tab, unread counts on the other.
    _, second = await sb.chat(text="Question about my invoice", customer={"name": "Ben"})
    await expect(page.locator(".offer-popup .offer-thread")).to_contain_text("invoice")
    await page.screenshot(path=str(shot_path("desk-offer.png", tmp_path)), animations="disabled")
    await assert_accessible(page)
    await accept_offer(page)
    await expect(tab).to_have_count(2)
    await expect(page.locator("#conv-title")).to_contain_text("Ben")
    await customer.ok({"type": "message", "text": "Are you still there?"})
    ann_tab = tab.filter(has_text="Ann")
    await expect(ann_tab.locator(".tab-unread")).to_have_text("1")
    await ann_tab.click()
    await expect(ann_tab.locator(".tab-unread")).to_be_hidden()
    await expect(page.locator("#conv-title")).to_contain_text("Ann")

    # End the session, then wrap up with one of the queue's codes.
    await page.get_by_role("button", name="End session").first.click()
    await page.locator("#dlg-end").get_by_role("button", name="End session").click()
    await customer.expect("chat.ended", reason="agent_ended")
    wrap = page.locator("#dlg-wrapup")
    await expect(wrap).to_be_visible()
    await wrap.get_by_label("Needs follow-up").check()
    await page.locator("#wrapup-notes").fill("Call back on Monday")
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(tab).to_have_count(1)
    await expect(page.locator(".closed-item")).to_contain_text("Needs follow-up")
    card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
    assert card["color"] == "gray" and card["status_label"] == "Needs follow-up"
    assert card["wrap_up"]["notes"] == "Call back on Monday"
    assert card["customer"]["verified"] is True

    # Ben's chat: a conference invitation that is declined leaves it with alice ...
    await expect(page.locator("#conv-title")).to_contain_text("Ben")
    await page.get_by_role("button", name="Conference…").click()
    picker = page.locator("#conference-agent")
    await expect(picker.locator('option[value="carol"]')).to_be_enabled()
    await picker.select_option("carol")
    await page.locator("#dlg-conference").get_by_role("button", name="Invite").click()
    invitation = await carol.expect("offer", kind="conference")
    await carol.ok({"type": "decline", "offer_id": invitation["offer_id"]})
    await expect(page.locator(".notice").filter(has_text="Carol declined")).to_be_visible()
    # a colleague who is not ready is listed with its state and cannot be chosen
    await carol.ok({"type": "set_state", "state": "not_ready", "reason": "lunch"})
    await page.get_by_role("button", name="Conference…").click()
    await expect(picker.locator('option[value="carol"]')).to_be_disabled()
    await expect(picker.locator('option[value="carol"]')).to_have_text(re.compile(r"^Carol · Not ready · 0/\d+$"))
    await expect(picker.locator('option[value="bob"]')).to_be_enabled()
    await page.locator("#dlg-conference").get_by_role("button", name="Cancel").click()

    # ... and a transfer to another queue takes it off this desk; bob there gets it.
    await page.get_by_role("button", name="Transfer…").click()
    dialog = page.locator("#dlg-transfer")
    await dialog.get_by_label("Queue", exact=True).select_option("billing")
    await dialog.get_by_role("button", name="Transfer").click()
    offer = await bob.expect("offer", conversation_id=second["conversation_id"])
    assert offer["kind"] == "transfer" and offer["from_agent"]["id"] == "alice"
    await expect(tab).to_have_count(0)
    await expect(page.locator(".closed-item").first).to_contain_text("Transferred to Billing")

    # Both conversations stay searchable for the shift.
    await page.locator("#search-input").fill("4711")
    await expect(page.locator(".search-hit")).to_have_count(1)
    await expect(page.locator(".search-hit")).to_contain_text("Order 4711")
    await page.locator("#search-input").fill("VIP")  # notes too: the desk searches what it holds
    await expect(page.locator(".search-hit")).to_have_count(1)
    assert errors == []


async def test_rona_as_the_agent_sees_it(sb, browser):
    await sb.queue("support", offer_timeout_s=0.5)
    token = await sb.agent("alice")
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="anyone there?")
    await expect(page.locator(".offer-popup")).to_be_visible()
    await expect(page.locator(".offer-popup")).to_have_count(0)  # rang out
    banner = page.locator("#rona-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("You missed an offer")
    # the same wording as the supervisor view's (widget/lib/labels.js)
    await expect(page.locator("#state-since")).to_contain_text("Missed an offer (RONA)")
    await expect(page.locator(".notice").first).to_contain_text("not answered in time")
    assert await agent_state_is(sb, "alice", "rona")
    await customer.ok({"type": "end_chat"})  # so that the chat does not ring again at once
    await banner.get_by_role("button", name="Available").click()
    await expect(banner).to_be_hidden()
    await eventually(lambda: agent_state_is(sb, "alice", "available"))
    await expect(page.locator("#state-select")).to_have_value("available")
    assert errors == []


async def test_markup_from_customers_shows_as_text(sb, browser):
    token = await sb.agent("alice")
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    script = "<script>window.hacked=1</script>"
    img = '<img src=x onerror="window.hacked=2">'
    customer, _ = await sb.chat(text=script, customer={"name": img})
    popup = page.locator(".offer-popup")
    await expect(popup.locator(".offer-thread")).to_contain_text(script)
    await expect(popup.locator(".offer-title")).to_have_text(img)
    await page.keyboard.press("Alt+Shift+A")  # accepts the oldest offer
    await expect(popup).to_have_count(0)
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": img})
    await expect(page.locator(".msg-customer .msg-text").nth(0)).to_have_text(script)
    await expect(page.locator(".msg-customer .msg-text").nth(1)).to_have_text(img)
    await expect(page.locator(".tab-name")).to_have_text(img)
    assert await page.locator("#transcript img, #transcript script, #tabs img, .offer-popups img").count() == 0
    assert await page.evaluate("window.hacked") is None
    assert errors == []


async def test_a_bad_token_goes_back_to_sign_in(sb, browser):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{sb.node.base}/desk#token=not-a-token")
    await expect(page.locator("#signin-error")).to_contain_text("invalid or expired")
    await expect(page.locator("#signin")).to_be_visible()
    assert "not-a-token" not in page.url
    await assert_accessible(page)
    assert await page.evaluate("sessionStorage.getItem('switchboard.desk.token')") is None
    # A good token typed into the form signs in.
    await page.locator("#signin-token").fill(await sb.agent("alice"))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator("#me-name")).to_have_text("Alice (alice)")


async def test_the_desk_reconnects_and_resumes_without_doubles(sb, browser):
    token = await sb.agent("alice")
    context = await browser.new_context()
    page = await context.new_page()
    sockets: list[Any] = []
    cut_after: list[str] = []  # a text whose message reaches the server but whose ack never comes back
    cut_before: list[str] = []  # a text whose message is lost with the connection

    async def relay(ws: Any) -> None:
        sockets.append(ws)
        server = ws.connect_to_server()

        def upstream(message: str | bytes) -> None:
            if cut_before and cut_before[0] in str(message):
                cut_before.clear()
                asyncio.ensure_future(ws.close(code=1006, reason="network gone"))  # noqa: RUF006 (the page is closed with the context)
                return
            server.send(message)
            if cut_after and cut_after[0] in str(message):
                cut_after.clear()
                asyncio.ensure_future(ws.close(code=1006, reason="network gone"))  # noqa: RUF006 (the page is closed with the context)

        ws.on_message(upstream)

    await page.route_web_socket(re.compile(r"/ws/agent$"), relay)
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="first")
    await accept_offer(page)
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": "second"})
    await expect(page.locator(".msg-customer")).to_have_count(2)

    await sockets[0].close(code=1006, reason="network gone")  # the connection drops
    await expect(page.locator("#connection")).to_contain_text("Reconnecting")
    await customer.ok({"type": "message", "text": "third, while you were away"})
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".msg-customer")).to_have_count(3)
    await expect(page.locator(".msg-customer").last).to_contain_text("third, while you were away")
    await page.locator("#composer-text").fill("Back again")
    await page.locator("#composer-text").press("Enter")
    await customer.expect("message", text="Back again")

    # The connection drops after a message left but before its ack came back: the desk
    # sends it again with the same client_msg_id, and it is stored and shown once.
    cut_after.append("Did you get this?")
    await page.locator("#composer-text").fill("Did you get this?")
    await page.locator("#composer-text").press("Enter")
    await customer.expect("message", text="Did you get this?")
    await expect(page.locator("#connection")).to_contain_text("Reconnecting")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".msg-agent:not(.pending)")).to_have_count(2)
    await expect(page.locator(".pending")).to_have_count(0)
    assert len([f for f in customer.received("message") if f["text"] == "Did you get this?"]) == 1

    # Lost on the way: sent again after the reconnect.
    cut_before.append("One more thing")
    await page.locator("#composer-text").fill("One more thing")
    await page.locator("#composer-text").press("Enter")
    await expect(page.locator(".pending .msg-time")).to_have_text("waiting for the connection…")
    await customer.expect("message", text="One more thing")
    await expect(page.locator(".msg-agent:not(.pending)")).to_have_count(3)
    await expect(page.locator(".pending")).to_have_count(0)

    # A reload replays the whole conversation from this tab's session storage.
    await page.reload()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".msg-customer")).to_have_count(3)
    await expect(page.locator(".msg-agent")).to_have_count(3)

    # A desk opened in a fresh tab (nothing in its session storage) fetches the history too.
    fresh, errors = await open_desk(browser, sb, token)
    await expect(fresh.locator(".tab")).to_have_count(1)
    await expect(fresh.locator(".msg-customer")).to_have_count(3)
    await expect(fresh.locator(".msg-agent")).to_have_count(3)
    await customer.ok({"type": "message", "text": "both tabs see this"})
    await expect(fresh.locator(".msg-customer").last).to_have_text(re.compile("both tabs see this"))
    await expect(page.locator(".msg-customer").last).to_have_text(re.compile("both tabs see this"))
    assert errors == []


async def test_a_conference_invitation_at_the_desk(sb, browser):
    owner = await sb.available_agent("alice")
    token = await sb.agent("dora")
    customer, started = await sb.chat(text="I need a specialist")
    offer = await owner.expect("offer")
    await owner.ok({"type": "accept", "offer_id": offer["offer_id"]})
    cid = started["conversation_id"]
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "dora")

    await owner.ok({"type": "conference", "conversation_id": cid, "agent": "dora"})
    popup = page.locator(".offer-popup")
    await expect(popup.locator(".offer-kind")).to_have_text("Conference invitation from Alice")
    await accept_offer(page)
    await expect(page.locator(".tab-status")).to_have_text("Conference")
    await expect(page.locator("#transcript")).to_contain_text("Dora joined the conversation")
    await expect(page.locator(".event-participant:visible")).to_have_count(0)  # said once, by the system line
    await owner.ok({"type": "message", "conversation_id": cid, "text": "Dora knows this best"})
    await expect(page.locator(".msg-agent").last).to_contain_text("Dora knows this best")
    await expect(page.get_by_role("button", name="End conference")).to_be_hidden()  # only the owner

    await page.get_by_role("button", name="Leave conference").click()
    await customer.expect("chat.participant_left")
    await expect(page.locator(".tab")).to_have_count(0)
    await expect(page.locator(".closed-item")).to_contain_text("You left")
    assert errors == []


async def test_a_warm_transfer_to_a_colleague_chosen_in_the_picker(sb, browser):
    token = await sb.agent("alice")
    erin = await sb.available_agent("erin", capacity=1)
    await sb.agent("fred")  # never connected: listed as offline, cannot be chosen
    customer, started = await sb.chat(text="Can someone in billing help?", customer={"name": "Gus"})
    page, errors = await open_desk(browser, sb, token)
    # erin is free and gets the chat first; alice becomes available and gets the next
    await erin.ok({"type": "accept", "offer_id": (await erin.expect("offer"))["offer_id"]})
    await go_available(page, sb, "alice")
    _, second = await sb.chat(text="Still there?", customer={"name": "Hana"})
    await accept_offer(page)
    await expect(page.locator("#conv-title")).to_contain_text("Hana")

    # erin is full: nobody can take it, and the dialog says so
    await page.get_by_role("button", name="Transfer…").click()
    dialog = page.locator("#dlg-transfer")
    await dialog.get_by_label("An agent").check()
    picker = dialog.locator("#transfer-agent")
    await expect(picker.locator('option[value="erin"]')).to_have_text("Erin · Available · 1/1")
    await expect(picker.locator('option[value="erin"]')).to_be_disabled()
    await expect(picker.locator('option[value="fred"]')).to_have_text(re.compile(r"^Fred · Offline"))
    await expect(picker.locator("option").first).to_have_text("No colleague can take it now")
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(page.locator("#transfer-error")).to_have_text("Choose a colleague who is available.")
    await dialog.get_by_role("button", name="Cancel").click()

    # erin's chat ends and is wrapped up: now she can take it
    await erin.ok({"type": "end_session", "conversation_id": started["conversation_id"]})
    await erin.ok({"type": "wrap_up", "conversation_id": started["conversation_id"], "code": "resolved"})
    await page.get_by_role("button", name="Transfer…").click()
    await dialog.get_by_label("An agent").check()
    await expect(picker.locator('option[value="erin"]')).to_be_enabled()
    await expect(picker).to_have_value("erin")
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(page.locator(".notice").filter(has_text="Transfer offered to Erin")).to_be_visible()
    offer = await erin.expect("offer", kind="transfer")
    assert offer["conversation_id"] == second["conversation_id"] and offer["from_agent"]["id"] == "alice"
    await erin.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await expect(page.locator(".tab")).to_have_count(0)
    assert errors == []
    await customer.close()


async def test_transcript_search_finds_earlier_conversations_of_this_agent_after_a_reload(sb, browser):
    bob = await sb.available_agent("bob", capacity=1)
    token = await sb.agent("alice")
    _, bobs = await sb.chat(text="Refund for order 4711 please", customer={"name": "Other"})
    await bob.ok({"type": "accept", "offer_id": (await bob.expect("offer"))["offer_id"]})
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    customer, _started = await sb.chat(text="Where is order 4711?", customer={"name": "Ida"})
    await accept_offer(page)
    box = page.locator("#composer-text")
    await box.fill("It left the warehouse today.")
    await box.press("Enter")
    await customer.expect("message", text="It left the warehouse today.")
    await page.locator("#note-toggle").check()
    await box.fill("Promised a call on Friday")
    await box.press("Enter")
    await expect(page.locator(".msg-note:not(.pending)")).to_have_count(1)
    await page.get_by_role("button", name="End session").first.click()
    await page.locator("#dlg-end").get_by_role("button", name="End session").click()
    wrap = page.locator("#dlg-wrapup")
    await expect(wrap).to_be_visible()
    await wrap.get_by_role("radio").first.check()
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(page.locator(".closed-item")).to_have_count(1)

    # A reload forgets the shift's closed conversations; the server still finds it.
    await page.reload()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".closed-item")).to_have_count(0)
    await page.locator("#search-input").fill("order 4711")
    earlier = page.locator(".search-earlier")
    await expect(earlier).to_have_count(1)  # bob's conversation is not alice's to see
    await expect(earlier.locator(".search-hit-head")).to_contain_text("Ida")
    await earlier.click()
    await expect(page.locator(".closed-item")).to_contain_text("Earlier")
    transcript = page.locator("#transcript")
    await expect(transcript).to_contain_text("Where is order 4711?")
    await expect(transcript).to_contain_text("It left the warehouse today.")
    await expect(page.locator(".msg-note")).to_contain_text("Promised a call on Friday")
    await expect(page.locator("#composer-text")).to_be_hidden()
    assert bobs["conversation_id"] not in await page.content()
    assert errors == []


async def open_relayed_desk(
    browser: Any, sb: Any, token: str, downstream: Any = None
) -> tuple[Page, list[Any], list[str]]:
    """A desk whose agent socket goes through a relay in the page: the test can drop
    the connection (`sockets[-1].close`) and hold or reorder what the server sends
    (`downstream(ws, message)` forwards with `ws.send`)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sockets: list[Any] = []

    async def relay(ws: Any) -> None:
        sockets.append(ws)
        server = ws.connect_to_server()
        if downstream is not None:
            server.on_message(lambda message: downstream(ws, message))

    await page.route_web_socket(re.compile(r"/ws/agent$"), relay)
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    return page, sockets, errors


async def test_a_message_pushed_before_its_conversation_assigned_is_shown(sb, browser):
    token = await sb.agent("alice")
    held: list[str] = []  # conversation.assigned, held back until a message of that chat has passed

    def downstream(ws: Any, message: str | bytes) -> None:
        if '"conversation.assigned"' in str(message) and not held:
            held.append(str(message))
            return
        ws.send(message)
        if held and '"type":"message"' in str(message).replace(" ", "") and "right after the accept" in str(message):
            ws.send(held[0])

    page, _, errors = await open_relayed_desk(browser, sb, token, downstream)
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="first")
    await page.locator(".offer-popup").get_by_role("button", name="Accept").click()
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": "right after the accept"})
    await expect(page.locator(".msg-customer")).to_have_text(
        [re.compile("first"), re.compile("right after the accept")]
    )
    assert errors == []


async def test_resume_replays_an_event_that_was_overtaken_before_the_connection_dropped(sb, browser):
    token = await sb.agent("alice")
    held: list[str] = []

    def downstream(ws: Any, message: str | bytes) -> None:
        if "overtaken" in str(message) and not held:
            held.append(str(message))  # still in flight when the connection drops: lost
            return
        ws.send(message)

    page, sockets, errors = await open_relayed_desk(browser, sb, token, downstream)
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="first")
    await accept_offer(page)
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": "overtaken"})  # seq N ...
    await customer.ok({"type": "message", "text": "overtaking"})  # ... and N+1, which arrives
    await expect(page.locator(".msg-customer")).to_have_count(2)
    assert held
    await sockets[-1].close(code=1006, reason="network gone")
    await expect(page.locator("#connection")).to_contain_text("Reconnecting")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".msg-customer .msg-text")).to_have_text(["first", "overtaken", "overtaking"])
    assert errors == []


async def _true(value: Any) -> bool:
    return bool(value)


async def test_a_note_whose_answer_was_lost_is_not_reported_as_lost_once_replayed(sb, browser):
    token = await sb.agent("alice")
    cut_after: list[str] = []
    context = await browser.new_context()
    page = await context.new_page()
    sockets: list[Any] = []

    async def relay(ws: Any) -> None:
        sockets.append(ws)
        server = ws.connect_to_server()

        def upstream(message: str | bytes) -> None:
            server.send(message)
            if cut_after and cut_after[0] in str(message):
                cut_after.clear()
                asyncio.ensure_future(ws.close(code=1006, reason="network gone"))  # noqa: RUF006 (the page is closed with the context)

        ws.on_message(upstream)

    await page.route_web_socket(re.compile(r"/ws/agent$"), relay)
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await go_available(page, sb, "alice")
    customer, started = await sb.chat(text="hi")
    await accept_offer(page)
    await customer.expect("chat.connected")
    await page.locator("#note-toggle").check()
    box = page.locator("#composer-text")
    cut_after.append("Check the refund first")
    await box.fill("Check the refund first")
    await box.press("Enter")
    # the note reached the server; its answer was lost with the connection
    await expect(page.locator("#connection")).to_have_text("Connected")
    await expect(page.locator(".msg-note:not(.pending)")).to_have_count(1)
    await expect(page.locator(".msg-note.failed")).to_have_count(0)
    await expect(box).to_have_value("")
    history = await sb.admin("GET", f"/api/v1/conversations/{started['conversation_id']}")
    assert [n["text"] for n in history["notes"]] == ["Check the refund first"]


async def test_a_store_outage_answer_is_not_sent_while_a_lost_connection_waits(browser, database_url, tmp_path):
    import shutil

    import httpx

    from conftest import ADMIN_TOKEN, Deployment, free_port, start_node
    from switchboard.embedded import EmbeddedRedis

    private = EmbeddedRedis(tmp_path / "redis", binary=shutil.which("redis-server"), port=free_port())
    private.start()
    node = await start_node(private.url, database_url)
    http = httpx.AsyncClient(base_url=node.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    sb = Deployment(node, http)
    try:
        await sb.queue("support")
        token = await sb.agent("alice")
        page, errors = await open_desk(browser, sb, token)
        await go_available(page, sb, "alice")
        customer, _ = await sb.chat(text="hi")
        await accept_offer(page)
        await customer.expect("chat.connected")
        # the side panel has asked for the customer's earlier conversations (before the outage)
        await expect(page.locator("#earlier li")).to_have_text(["None: a first contact."])
        private.stop()  # the store is unreachable; the socket to the page stays up
        box = page.locator("#composer-text")
        await box.fill("Are you there?")
        await box.press("Enter")
        await expect(page.locator(".msg-agent.failed .msg-time")).to_contain_text("not sent")
        await expect(page.locator("#composer-error")).to_contain_text("Not sent")
        await expect(box).to_have_value("Are you there?")
        await expect(page.locator("#connection")).to_have_text("Connected")
        assert errors == []
    finally:
        for client in sb.clients:
            await client.close()
        await http.aclose()
        await node.stop()
        private.stop()


async def test_offers_in_the_welcome_survive_a_fast_pc_clock(sb, browser):
    token = await sb.agent("alice")
    alice, _ = await sb.agent_socket(token)
    await alice.ok({"type": "set_state", "state": "available"})
    await sb.chat(text="waiting for you")
    await alice.expect("offer")
    context = await browser.new_context()
    # This PC's clock runs a minute fast.
    await context.add_init_script("{ const real = Date.now; Date.now = () => real() + 60000; }")
    page = await context.new_page()
    await page.goto(f"{sb.node.base}/desk#token={token}")
    popup = page.locator(".offer-popup")
    await expect(popup.locator(".offer-remaining")).to_have_text(re.compile(r"^(1\d|20) s$"))
    await expect(popup).to_have_count(1)


async def test_no_error_notice_for_typing_after_the_customer_ended(sb, browser):
    await sb.queue("support", wrap_up_codes=CODES)
    token = await sb.agent("alice")
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    customer, _ = await sb.chat(text="hi")
    await accept_offer(page)
    await page.locator("#composer-text").press_sequentially("Let me")
    await customer.expect("typing", active=True)
    await customer.ok({"type": "end_chat"})
    await expect(page.locator(".tab-status")).to_have_text("Ended by customer")
    await page.locator("#conv-banner-wrapup").click()  # the box loses the focus: typing stops
    wrap = page.locator("#dlg-wrapup")
    await expect(wrap).to_be_visible()
    await wrap.get_by_label("Resolved").check()
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(page.locator(".closed-item")).to_have_count(1)
    await expect(page.locator(".notice-error")).to_have_count(0)
    assert errors == []


async def test_a_refused_origin_stops_the_desk_from_retrying(browser, sb):
    # This server refuses a foreign origin before accept (HTTP 403), and a page it
    # serves itself is always allowed; the contract's close code 4403 (a proxy or
    # another server may send it) is sent here by closing the desk's socket with it.
    token = await sb.agent("alice")
    context = await browser.new_context()
    page = await context.new_page()
    opened: list[Any] = []
    page.on("websocket", lambda ws: opened.append(ws))
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    [desk] = [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "alice"]
    desk.close(4403, "origin not allowed")
    await expect(page.locator("#connection")).to_have_text("Refused: origin not allowed")
    await expect(page.locator(".notice-error")).to_contain_text("SWITCHBOARD_ALLOWED_ORIGINS")
    assert len(opened) == 1


async def test_a_supervisor_at_the_desk_keeps_the_wrap_up_when_the_customer_writes_again(sb, browser):
    token = await sb.agent("alice", role="supervisor")
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    cards: list[str] = []  # the feed's card frames as the page received them

    def watch(ws: Any) -> None:
        ws.on(
            "framereceived",
            lambda payload: cards.append(str(payload)) if '"type":"card"' in str(payload).replace(" ", "") else None,
        )

    page.on("websocket", watch)
    await page.goto(f"{sb.node.base}/desk#token={token}")
    await expect(page.locator("#connection")).to_have_text("Connected")
    await go_available(page, sb, "alice")
    customer, _started = await sb.chat(text="hi", channel="messaging")
    await accept_offer(page)
    await page.select_option("#state-select", "offline")  # no new offer for alice
    await eventually(lambda: agent_state_is(sb, "alice", "offline"))
    await page.get_by_role("button", name="End session").first.click()
    await page.locator("#dlg-end").get_by_role("button", name="End session").click()
    await customer.expect("chat.ended")
    await page.locator("#dlg-wrapup").get_by_role("button", name="Later").click()
    banner = page.locator("#conv-banner")
    await expect(banner).to_be_visible()
    # the customer writes again: a new session of the same conversation waits in the queue
    await customer.ok({"type": "message", "text": "one more question"})
    queued = await customer.expect("chat.queued")
    await eventually(lambda: _true([c for c in cards if queued["session_id"] in c]))
    await expect(banner).to_be_visible()
    await expect(page.get_by_role("button", name="Wrap up…")).to_be_visible()


async def test_closing_more_conversations_than_the_desk_keeps_while_the_oldest_is_on_screen(make_deployment, browser):
    # The helper agent works fast, and 101 chats in a few seconds send the desk about a
    # thousand frames: on a busy machine the page may read slower than that, and the node
    # would close its socket as too slow (1008) and the desk resume without the chats that
    # came and went meanwhile. This test is about the closed list, so the queue is roomier.
    sb = await make_deployment(frames_per_s=1000.0, frame_burst=1000, send_queue_limit=8192)
    await sb.queue("support")
    token = await sb.agent("alice", capacity=1)
    alice, _ = await sb.agent_socket(token)  # the desk's agent, answering from a second socket
    await alice.ok({"type": "set_state", "state": "available"})
    page, errors = await open_desk(browser, sb, token)
    customer, _ = await sb.customer()

    async def take(text: str) -> str:
        started = await customer.ok({"type": "start_chat", "queue": "support", "text": text})
        offer = await alice.expect("offer")
        await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
        return started["conversation_id"]

    async def close(cid: str) -> None:
        await alice.ok({"type": "end_session", "conversation_id": cid})
        await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})

    await close(await take("the oldest"))
    for i in range(99):  # the desk keeps 100 closed conversations
        await close(await take(f"chat {i}"))
        # at the desk's pace: on a loaded machine the page reads slower than the second socket works
        await expect(page.locator(".closed-item")).to_have_count(i + 2)
    await expect(page.locator(".closed-item")).to_have_count(100)
    last = await take("the hundred and first")
    await expect(page.locator(".tab")).to_have_count(1)
    await page.locator(".closed-item").last.click()  # the oldest, on screen ...
    await expect(page.locator("#transcript")).to_contain_text("the oldest")
    await close(last)  # ... is dropped from the list when one more closes
    await expect(page.locator(".tab")).to_have_count(0)
    await expect(page.locator(".closed-item")).to_have_count(100)
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "still working"})
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await expect(page.locator(".tab")).to_have_count(1)
    await expect(page.locator("#transcript")).to_contain_text("still working")
    assert started["conversation_id"]
    assert errors == []


async def test_keyboard_use_of_the_state_menu_sends_one_state_change(sb, browser):
    token = await sb.agent("alice")
    page, errors = await open_desk(browser, sb, token)
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    await go_available(page, sb, "alice")  # a pointer choice applies at once
    await page.reload()
    await expect(page.locator("#connection")).to_have_text("Connected")
    await page.locator("#state-select").focus()
    await page.keyboard.press("ArrowDown")  # passing over Break ...
    await page.keyboard.press("ArrowDown")  # ... to Lunch
    await page.keyboard.press("Enter")
    await eventually(lambda: agent_state_is(sb, "alice", "not_ready"))
    await expect(page.locator("#state-since")).to_contain_text("Lunch")
    changes = [f for f in sent if '"set_state"' in f]
    assert len(changes) == 1 and "Lunch" in changes[0]
    assert errors == []


async def test_the_connection_countdown_is_not_announced(sb, browser):
    token = await sb.agent("alice")
    page, sockets, _errors = await open_relayed_desk(browser, sb, token)
    live = page.locator("#connection [aria-live]")
    await expect(live).to_have_text("Connected")
    assert await page.locator("#connection").get_attribute("aria-live") is None
    await sockets[-1].close(code=1006, reason="network gone")
    await expect(page.locator("#connection")).to_contain_text(re.compile(r"Reconnecting in \d+ s"))
    await expect(live).to_have_text("Reconnecting")  # the countdown beside it is not in the live region
    await expect(live).to_have_text("Connected")


async def test_the_keyboard_focus_survives_declines_closed_items_and_closing_conversations(sb, browser):
    await sb.queue("support", wrap_up_codes=CODES)
    token = await sb.agent("alice", capacity=3)
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    # Two offers; declining the first with the keyboard moves to the second.
    await sb.chat(text="first", customer={"name": "Ann"})
    await sb.chat(text="second", customer={"name": "Ben"})
    popups = page.locator(".offer-popup")
    await expect(popups).to_have_count(2)
    await popups.first.get_by_role("button", name="Decline").focus()
    await page.keyboard.press("Enter")
    await expect(popups).to_have_count(1)
    await expect(popups.first.get_by_role("button", name="Accept")).to_be_focused()
    await page.keyboard.press("Enter")  # accepts Ben
    await expect(page.locator(".tab")).to_have_count(1)
    # Ann comes back after the decline: accept, end, wrap up.
    _customer, _ = await sb.chat(text="third", customer={"name": "Cleo"})
    await accept_offer(page)
    await expect(page.locator(".tab")).to_have_count(2)
    await page.get_by_role("button", name="End session").first.click()
    await page.locator("#dlg-end").get_by_role("button", name="End session").click()
    wrap = page.locator("#dlg-wrapup")
    await expect(wrap).to_be_visible()
    await wrap.get_by_label("Resolved").check()
    await wrap.get_by_role("button", name="Submit wrap-up").click()
    await expect(page.locator(".tab")).to_have_count(1)
    await expect(page.locator(".tab")).to_be_focused()  # not the body: the conversation that is left
    # A closed conversation chosen with the keyboard keeps the focus, and the open
    # conversation stays reachable with Tab.
    closed = page.locator(".closed-item")
    await closed.first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#conv-status")).to_have_text("Resolved")
    await expect(closed.first).to_be_focused()
    assert await page.locator(".tab").get_attribute("tabindex") == "0"
    assert errors == []


async def test_only_the_page_assets_are_served(sb):
    """The widget folder's documentation stays private: only html, css and js are served."""
    for doc in ("README.md", "DESK.md", "SUPERVISOR.md"):
        assert (await sb.http.get(f"/widget/{doc}")).status_code == 404
    for asset in ("desk.js", "desk.css", "switchboard.js", "lib/dom.js", "desk/offers.js"):
        assert (await sb.http.get(f"/widget/{asset}")).status_code == 200, asset


async def test_a_redacted_message_shows_as_redacted_at_the_desk_live(sb, browser):
    token = await sb.agent("alice")
    page, errors = await open_desk(browser, sb, token)
    await go_available(page, sb, "alice")
    customer, started = await sb.chat(text="Hello")
    await accept_offer(page)
    sent = await customer.ok({"type": "message", "text": "my IBAN is DE89 3704 0044 0532 0130 00"})
    texts = page.locator(".msg-customer .msg-text")
    await expect(texts.nth(1)).to_have_text("my IBAN is DE89 3704 0044 0532 0130 00")
    cid = started["conversation_id"]
    await sb.admin("DELETE", f"/api/v1/conversations/{cid}/messages/{sent['seq']}", expect=204)
    await expect(texts.nth(1)).to_have_text("Message redacted")
    await expect(texts.nth(0)).to_have_text("Hello")
    assert "DE89" not in await page.locator("#transcript").inner_text()
    assert errors == []
