"""The supervisor view (widget/supervisor.html + supervisor.js) in a real headless
Chromium, under the server's strict CSP, against a real server. Agents and
customers are protocol-level clients."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from axe import assert_accessible
from support import eventually, page_problems

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
WAIT_MS = 8000
CLOCK = re.compile(r"^\d{2}:\d{2}$")
XSS = '<img src=x onerror="window.hacked=1">'


class Board:
    """The supervisor page, and the browser-side problems it logged."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems = page_problems(page)
        self.cards = page.locator("#cards > li.card")
        self.recent = page.locator("#recent > li.card")
        self.help = page.locator("#help > li")
        self.monitor = page.locator("#monitor")
        self.transcript = page.locator("#transcript > li")

    @classmethod
    async def open(cls, browser: Any, sb: Any, path: str = "/supervisor#paste") -> Board:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(WAIT_MS)
        board = cls(await ctx.new_page())
        await board.page.goto(f"{sb.node.base}{path}")
        return board

    async def sign_in(self, token: str) -> None:
        await self.page.get_by_label("Agent token").fill(token)
        await self.page.get_by_role("button", name="Sign in").click()

    def tile(self, queue: str) -> Any:
        return self.page.locator(f'#tiles > li.tile[data-queue="{queue}"]')

    def tile_figure(self, queue: str, cls: str) -> Any:
        return self.tile(queue).locator(f".fig.{cls} dd")

    def agent_row(self, aid: str) -> Any:
        return self.page.locator(f'#agents tbody tr[data-agent="{aid}"]')

    def card(self, session_id: str, recent: bool = False) -> Any:
        return self.page.locator(f'#{"recent" if recent else "cards"} > li.card[data-session="{session_id}"]')


async def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    """Into docs/screenshots when it has none yet or SWITCHBOARD_SCREENSHOTS=1 asks
    for new ones, else into the test's temporary folder."""
    target = SHOTS / name
    if target.exists() and os.environ.get("SWITCHBOARD_SCREENSHOTS") != "1":
        target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(target))


async def deployment(make_deployment: Any) -> Any:
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support")
    return sb


async def test_supervisor_sees_queues_agents_cards_and_help_and_monitors(browser, make_deployment, tmp_path):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    board = await Board.open(browser, sb)
    page = board.page
    await expect(page.get_by_label("Agent token")).to_be_focused()
    await assert_accessible(page)
    await board.sign_in(sue_token)
    await expect(page.locator("#who")).to_have_text("Sue")
    await expect(page.locator("#conn")).to_have_text("Live")
    await expect(board.tile("support").locator("h3")).to_have_text("Support")
    # the token is kept for the tab (a reload signs in again), never in the URL
    assert await page.evaluate("sessionStorage.getItem('switchboard.supervisor.token')") == sue_token

    # Alice connects (not ready), Bob too; then a customer waits.
    alice_token = await sb.agent("alice", capacity=1)  # so the second customer keeps waiting
    alice, _ = await sb.agent_socket(alice_token)
    bob_token = await sb.agent("bob")
    await sb.agent_socket(bob_token)
    await expect(board.agent_row("alice").locator(".badge")).to_have_text("Not ready")
    await expect(board.agent_row("alice").locator("td").nth(2)).to_have_text(CLOCK)
    await expect(board.agent_row("alice").locator("td").nth(3)).to_have_text("0/1")

    customer, started = await sb.chat(text="My order never arrived", customer={"name": "Carla"})
    cid, sid = started["conversation_id"], started["session_id"]
    card = board.card(sid)
    await expect(card).to_have_attribute("data-color", "blue")
    await expect(card.locator(".status")).to_have_text("Waiting")
    await expect(card.locator(".customer")).to_have_text("Carla")
    await expect(card.locator(".card-title")).to_have_text("Webchat")
    await expect(card.locator(".card-title svg")).to_have_count(1)
    await expect(card.locator(".tick.duration")).to_have_text(CLOCK)
    await expect(board.tile_figure("support", "waiting")).to_have_text("1")
    await expect(board.tile_figure("support", "longest")).to_have_text(CLOCK)
    # a second customer, still waiting in the screenshot
    _, other = await sb.chat(text="Do you ship to Norway?", customer={"name": "Nils"})
    await expect(board.tile_figure("support", "waiting")).to_have_text("2")

    # Alice becomes available: offered, accepted, active with her.
    await alice.ok({"type": "set_state", "state": "available"})
    await expect(board.agent_row("alice").locator(".badge")).to_have_text("Available")
    offer = await alice.expect("offer")
    assert offer["session_id"] == sid
    await expect(card.locator(".status")).to_have_text(re.compile("Offered|Waiting"))
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await expect(card.locator(".status")).to_have_text("Active")
    await expect(card.locator(".agents-list dd")).to_have_text("Alice")
    await expect(board.tile_figure("support", "waiting")).to_have_text("1")
    await expect(board.tile_figure("support", "sl")).to_have_text("100%")
    await expect(board.tile_figure("support", "abandon")).to_have_text("0%")
    await expect(board.tile_figure("support", "asa")).to_have_text(re.compile(r"^\d+ s$"))
    await expect(board.agent_row("alice").locator("td").nth(3)).to_have_text("1/1")
    await expect(board.tile_figure("support", "available")).to_have_text("1")
    await expect(board.tile_figure("support", "busy")).to_have_text("1")
    await expect(board.cards).to_have_count(2)

    # Alice asks for help: the request is listed (and announced).
    await alice.ok({"type": "message", "conversation_id": cid, "text": "Let me look into it."})
    await alice.ok({"type": "request_help", "conversation_id": cid, "text": "Customer wants a refund"})
    await expect(board.help).to_have_count(1)
    request = board.help.first
    await expect(request.locator(".help-agent")).to_have_text("Alice")
    await expect(request.locator(".help-text")).to_have_text("Customer wants a refund")
    await expect(request.locator(".help-about")).to_contain_text("Carla")
    await expect(request.locator("time")).to_have_text(CLOCK)
    await expect(page.locator("#announcer")).to_have_text("Help requested by Alice: Customer wants a refund")
    await screenshot(page, "supervisor.png", tmp_path)
    await assert_accessible(page)

    # Monitor from the request: the transcript so far, then live frames.
    await request.get_by_role("button", name="Monitor").click()
    await expect(board.monitor).to_be_visible()
    await expect(page.locator("#monitor-title")).to_be_focused()
    await expect(page.locator("#monitor-title")).to_have_text("Monitoring Carla")
    texts = board.transcript.locator(".entry-text")
    await expect(texts).to_have_text(
        ["My order never arrived", re.compile("Alice joined the chat"), "Let me look into it."]
    )
    await expect(page.locator("#transcript > li.customer .entry-who")).to_have_text("Carla")
    await customer.ok({"type": "typing", "active": True})
    await expect(page.locator("#typing")).to_have_text("Carla is typing…")
    await customer.ok({"type": "message", "text": "Hello? Anyone?"})
    await expect(board.transcript.last.locator(".entry-text")).to_have_text("Hello? Anyone?")
    await expect(page.locator("#typing")).to_be_hidden()
    await alice.ok({"type": "note", "conversation_id": cid, "text": "second refund request"})
    note = page.locator("#transcript > li.note")
    await expect(note.locator(".entry-text")).to_have_text("second refund request")
    await expect(note.locator(".entry-who")).to_have_text("Note · Alice")
    await expect(card.get_by_role("button")).to_have_text("Monitoring")
    await assert_accessible(page)

    # Stop monitoring: the panel closes and nothing more arrives.
    await page.get_by_role("button", name="Stop monitoring").click()
    await expect(board.monitor).to_be_hidden()
    await expect(card.get_by_role("button")).to_have_text("Monitor")

    # Alice ends and wraps up: the card turns gray with the code's label.
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await expect(card.locator(".status")).to_have_text("Ended by agent")
    await alice.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    closed = board.card(sid, recent=True)
    await expect(closed).to_have_attribute("data-color", "gray")
    await expect(closed.locator(".status")).to_have_text("Resolved")
    await expect(board.card(sid)).to_have_count(0)
    await expect(board.cards).to_have_count(1)

    # The queue filter hides the cards of other queues.
    await page.get_by_label("Filter by queue").select_option("support")
    await expect(board.cards).to_have_count(1)
    assert other["session_id"] == await board.cards.first.get_attribute("data-session")
    assert board.problems == []


async def test_markup_from_customers_shows_as_text_and_the_view_reconnects(browser, make_deployment):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    board = await Board.open(browser, sb)
    await board.sign_in(sue_token)
    await expect(board.page.locator("#conn")).to_have_text("Live")
    customer, started = await sb.chat(text=XSS, customer={"name": XSS})
    card = board.card(started["session_id"])
    await expect(card.locator(".customer")).to_have_text(XSS)
    await card.get_by_role("button", name=re.compile("^Monitor")).click()
    await expect(board.transcript.locator(".entry-text")).to_have_text([XSS])
    await customer.ok({"type": "message", "text": "<script>window.hacked=2</script>"})
    await expect(board.transcript.last.locator(".entry-text")).to_have_text("<script>window.hacked=2</script>")
    await expect(board.page.locator("#monitor-title")).to_have_text(f"Monitoring {XSS}")
    assert await board.page.locator("img, #board script").count() == 0
    assert await board.page.evaluate("window.hacked") is None

    # The server drops the page's socket: it reconnects, monitors again, and the
    # transcript goes on without duplicates.
    sockets = [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "sue"]
    assert len(sockets) == 1
    sockets[0].close(1001, "server shutting down")
    await eventually(lambda: _count_sockets(sb, exclude=sockets[0]))
    await customer.ok({"type": "message", "text": "after the reconnect"})
    await expect(board.transcript.locator(".entry-text")).to_have_text(
        [XSS, "<script>window.hacked=2</script>", "after the reconnect"]
    )
    await expect(board.page.locator("#conn")).to_have_text("Live")

    # The customer leaves before any agent: a white card among the recently closed.
    await customer.ok({"type": "end_chat"})
    closed = board.card(started["session_id"], recent=True)
    await expect(closed).to_have_attribute("data-color", "white")
    await expect(closed.locator(".status")).to_have_text("Abandoned by customer")
    await expect(board.transcript.last).to_have_text(re.compile(r"Chat ended \(abandoned by the customer\)"))
    assert board.problems == []


async def _count_sockets(sb: Any, exclude: Any) -> bool:
    return any(s.role == "agent" and s.agent_id == "sue" and s is not exclude for s in sb.node.services.local.sockets)


async def test_only_supervisors_get_in_and_a_bad_token_goes_back_to_sign_in(browser, make_deployment):
    sb = await deployment(make_deployment)
    alice_token = await sb.agent("alice")
    # a token in the URL fragment is read, then removed from the address bar
    board = await Board.open(browser, sb, f"/supervisor#token={alice_token}")
    page = board.page
    await expect(page.get_by_role("heading", name="This view is for supervisors")).to_be_visible()
    await expect(page.locator("#board")).to_be_hidden()
    assert await page.evaluate("location.hash") == ""
    assert await page.evaluate("sessionStorage.getItem('switchboard.supervisor.token')") is None

    await page.get_by_role("button", name="Use another token").click()
    await board.sign_in("not-a-token")
    await expect(page.get_by_role("alert")).to_contain_text("refused")
    await expect(page.get_by_label("Agent token")).to_be_focused()
    await expect(page.locator("#board")).to_be_hidden()
    assert [p for p in board.problems if "4401" not in p] == []


async def test_a_view_opened_later_or_reloaded_shows_the_open_sessions_and_help_requests(browser, make_deployment):
    sb = await deployment(make_deployment)
    await sb.queue("sales")
    await sb.agent_socket(await sb.agent("otto", role="supervisor", queues=["sales"]))  # someone to ask
    sue_token = await sb.agent("sue", role="supervisor")  # supervises support; not online yet
    alice = await sb.available_agent("alice", capacity=1)
    _, started = await sb.chat(text="Where is my parcel?", customer={"name": "Carla"})
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    nils, waiting = await sb.chat(text="Hello?", customer={"name": "Nils"})
    await alice.ok({"type": "request_help", "conversation_id": started["conversation_id"], "text": "VIP customer"})

    board = await Board.open(browser, sb)
    await board.sign_in(sue_token)
    for _ in range(2):  # opened, then reloaded: the same board at once
        await expect(board.cards).to_have_count(2)
        await expect(board.card(started["session_id"]).locator(".status")).to_have_text("Active")
        await expect(board.card(waiting["session_id"]).locator(".status")).to_have_text("Waiting")
        await expect(board.help).to_have_count(1)
        await expect(board.help.first.locator(".help-agent")).to_have_text("Alice")
        await expect(board.help.first.locator(".help-text")).to_have_text("VIP customer")
        await expect(board.help.first.locator(".help-about")).to_contain_text("Carla")
        await expect(board.help.first.locator("time")).to_have_text(CLOCK)
        await board.page.reload()
        await expect(board.page.locator("#conn")).to_have_text("Live")

    # The socket drops and Nils leaves meanwhile: his card does not stay live.
    sockets = [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "sue"]
    sockets[0].close(1001, "server shutting down")
    await nils.ok({"type": "end_chat"})
    await eventually(lambda: _count_sockets(sb, exclude=sockets[0]))
    await expect(board.cards).to_have_count(1)
    await expect(board.card(waiting["session_id"])).to_have_count(0)

    # Monitoring answers the request; the session's end takes it off the list.
    await board.help.first.get_by_role("button", name="Monitor").click()
    await expect(board.page.locator("#monitor-title")).to_have_text("Monitoring Carla")
    await alice.ok({"type": "end_session", "conversation_id": started["conversation_id"]})
    await expect(board.help).to_have_count(0)
    assert board.problems == []


async def test_a_message_pushed_before_the_monitor_answer_is_in_the_transcript(browser, make_deployment):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    held: list[Any] = []  # the monitor answer, held until a message of that chat has passed
    relayed: list[Any] = []

    async def relay(ws: Any) -> None:
        relayed.append(ws)
        server = ws.connect_to_server()

        def downstream(message: Any) -> None:
            text = str(message)
            if not held and '"ack"' in text and '"messages"' in text:
                held.append(message)
                return
            ws.send(message)
            if held and "before the answer" in text:
                ws.send(held[0])

        server.on_message(downstream)

    await ctx.route_web_socket(re.compile(r"/ws/agent$"), relay)
    board = Board(await ctx.new_page())
    await board.page.goto(f"{sb.node.base}/supervisor#token={sue_token}")
    await expect(board.page.locator("#conn")).to_have_text("Live")
    customer, started = await sb.chat(text="first")
    card = board.card(started["session_id"])
    await card.get_by_role("button", name=re.compile("^Monitor")).click()
    await eventually(lambda: _held(held))
    await customer.ok({"type": "message", "text": "before the answer"})
    await expect(board.transcript.locator(".entry-text")).to_have_text(["first", "before the answer"])
    assert board.problems == []


async def _held(held: list[Any]) -> bool:
    return bool(held)


async def test_the_transcript_is_in_seq_order_when_live_events_overtake_each_other(browser, make_deployment):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    held: list[Any] = []

    async def relay(ws: Any) -> None:
        server = ws.connect_to_server()

        def downstream(message: Any) -> None:
            text = str(message)
            if "overtaken" in text and not held:
                held.append(message)  # delivered after the next one
                return
            ws.send(message)
            if held and "overtaking" in text:
                ws.send(held[0])

        server.on_message(downstream)

    await ctx.route_web_socket(re.compile(r"/ws/agent$"), relay)
    board = Board(await ctx.new_page())
    await board.page.goto(f"{sb.node.base}/supervisor#token={sue_token}")
    customer, started = await sb.chat(text="first")
    await board.card(started["session_id"]).get_by_role("button", name=re.compile("^Monitor")).click()
    await expect(board.transcript.locator(".entry-text")).to_have_text(["first"])
    await customer.ok({"type": "message", "text": "overtaken"})
    await customer.ok({"type": "message", "text": "overtaking"})
    await expect(board.transcript.locator(".entry-text")).to_have_text(["first", "overtaken", "overtaking"])


async def test_a_chat_transferred_to_a_queue_of_another_supervisor_leaves_the_live_list(browser, make_deployment):
    sb = await deployment(make_deployment)
    await sb.queue("billing")
    sue_token = await sb.agent("sue", role="supervisor", queues=["support"])
    alice = await sb.available_agent("alice", queues=["support", "billing"])
    board = await Board.open(browser, sb, f"/supervisor#token={sue_token}")
    await expect(board.page.locator("#conn")).to_have_text("Live")
    _, started = await sb.chat(text="wrong department")
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    card = board.card(started["session_id"])
    await expect(card.locator(".status")).to_have_text("Active")
    await alice.ok({"type": "transfer", "conversation_id": started["conversation_id"], "queue": "billing"})
    await expect(board.cards).to_have_count(0)
    await expect(board.page.locator('#queue-filter option[value="billing"]')).to_have_count(0)
    assert board.problems == []


async def test_signing_in_after_a_refused_token_shows_nothing_of_the_previous_supervisor(browser, make_deployment):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    board = await Board.open(browser, sb, f"/supervisor#token={sue_token}")
    _customer, started = await sb.chat(text="private matter", customer={"name": "Carla"})
    await board.card(started["session_id"]).get_by_role("button", name=re.compile("^Monitor")).click()
    await expect(board.transcript.locator(".entry-text")).to_have_text(["private matter"])
    # sue's token is revoked (her profile deleted); the view's socket drops and is refused
    await sb.admin("DELETE", "/api/v1/agents/sue", expect=None)
    for sock in [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "sue"]:
        sock.close(1001, "server shutting down")
    await expect(board.page.get_by_label("Agent token")).to_be_visible()
    assert await board.page.locator("#cards li, #help li, #transcript li, #recent li").count() == 0
    assert await board.page.locator('#queue-filter option[value="support"]').count() == 0
    # the next person on this tab signs in with another token
    await board.sign_in(await sb.agent("alice"))
    await expect(board.page.get_by_role("heading", name="This view is for supervisors")).to_be_visible()
    assert "Carla" not in await board.page.content()


async def test_a_malformed_token_in_the_address_shows_the_sign_in_form(browser, make_deployment):
    sb = await deployment(make_deployment)
    board = await Board.open(browser, sb, "/supervisor#token=%E0%A4%A")
    await expect(board.page.locator("#signin-error")).to_contain_text("refused")
    await expect(board.page.get_by_label("Agent token")).to_be_visible()
    assert [p for p in board.problems if "URIError" in p] == []


async def test_a_refused_origin_stops_the_supervisor_view_from_retrying(browser, make_deployment):
    # As for the desk: the contract's 4403, sent by closing the view's socket with it.
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    ctx = await browser.new_context()
    page = await ctx.new_page()
    opened: list[Any] = []
    page.on("websocket", lambda ws: opened.append(ws))
    await page.goto(f"{sb.node.base}/supervisor#token={sue_token}")
    await expect(page.locator("#conn")).to_have_text("Live")
    [view] = [s for s in sb.node.services.local.sockets if s.role == "agent" and s.agent_id == "sue"]
    view.close(4403, "origin not allowed")
    await expect(page.locator("#conn")).to_contain_text("origin is not allowed")
    assert len(opened) == 1


async def test_the_help_list_keeps_the_keyboard_focus_when_cards_change(browser, make_deployment):
    sb = await deployment(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor")
    alice = await sb.available_agent("alice")
    board = await Board.open(browser, sb, f"/supervisor#token={sue_token}")
    await expect(board.page.locator("#conn")).to_have_text("Live")  # online before anyone asks
    _, started = await sb.chat(text="refund?")
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "request_help", "conversation_id": started["conversation_id"], "text": "refund"})
    dismiss = board.help.first.get_by_role("button", name=re.compile("^Dismiss"))
    await dismiss.focus()
    _, second = await sb.chat(text="another one")  # a card frame: the lists are drawn again
    await expect(board.card(second["session_id"])).to_have_count(1)
    await expect(board.help.first.get_by_role("button", name=re.compile("^Dismiss"))).to_be_focused()
    assert board.problems == []


async def test_an_agent_who_missed_an_offer_shows_as_rona_in_the_desks_wording(browser, make_deployment):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support", offer_timeout_s=0.5)
    sue_token = await sb.agent("sue", role="supervisor")
    board = await Board.open(browser, sb)
    await board.sign_in(sue_token)
    await expect(board.page.locator("#conn")).to_have_text("Live")
    await sb.available_agent("alice")
    await sb.chat(text="anyone there?")
    # the same label as the desk's (widget/lib/labels.js)
    await expect(board.agent_row("alice").locator(".badge")).to_have_text("Missed an offer (RONA)")
    assert board.problems == []
