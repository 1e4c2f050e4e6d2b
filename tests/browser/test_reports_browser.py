"""The reports page of the supervisor view (widget/supervisor/reports*.js, charts.js) in a real
headless Chromium, against a real server whose figures come from real PostgreSQL: a day of chats
with known outcomes is driven through the server's sockets on its controlled clock (yesterday), then
the supervisor reads yesterday's report, filters by queue, switches intervals, downloads the CSV and
finds the table's numbers in it, and opens an interaction's transcript."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect
from test_supervisor_browser import WAIT_MS, screenshot

from axe import assert_accessible
from support import eventually, page_problems
from switchboard.store import clock

ZONE = "Europe/Paris"
# A chat answered within this many seconds counts towards the service level; an abandon within
# SHORT_ABANDON_S is a short one. Each step of the clock stays under a node's liveness (10 s).
SERVICE_LEVEL_S = 5
# The day's chats start then (and end within the minute): all in the 10:00 interval.
DAY_STARTS = time(10, 15)
SHORT_ABANDON_S = 5
QUEUES = ["support", "sales"]
PASSWORD = "correct horse battery"
FIRST_MESSAGE = "My order never arrived"
COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl")


@pytest.fixture
def controlled_clock() -> Iterator[None]:
    """The server's clock frozen at yesterday's DAY_STARTS in Paris, set before the test starts
    its node (a test lists this fixture first: its clock comes back after the node stops)."""
    clock.set_clock(int(yesterday_at(DAY_STARTS).timestamp() * 1000))
    yield
    clock.reset_clock()


def yesterday_at(moment: time) -> datetime:
    """Yesterday in Paris (as the browser there counts it) at `moment`."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    return datetime.combine(today - timedelta(days=1), moment, ZoneInfo(ZONE))


def wait_s(seconds: int) -> None:
    """The server's frozen clock moves on: what the customers wait, the agents talk and wrap up."""
    clock.advance_clock(seconds * 1000)


async def drive_a_day(sb: Any) -> None:
    """On a frozen clock. Queue support (SL 5 s): A waits 2 s (in SL), talk 4 s, wrap-up 1 s;
    B waits 7 s behind A (out of SL), talk 3 s, wrap-up 2 s; C abandons at once (a short abandon,
    not in the service level). So support has offered 3, answered 2, abandoned 1 (short 1), in SL 1:
    service level 1 / (2 + 1 - 1) = 50 %, ASA (2 + 7) / 2 = 4.5 s, longest wait 7 s; Alice handled
    2, AHT (5 + 5) / 2 = 5 s. Queue sales: Bob answers one chat in 1 s (100 %)."""
    rules = {"service_level_s": SERVICE_LEVEL_S, "short_abandon_s": SHORT_ABANDON_S}
    await sb.queue("support", **rules)
    await sb.queue("sales", **rules)
    alice = await sb.available_agent("alice", capacity=1)
    bob = await sb.available_agent("bob", queues=["sales"])

    _, started_a = await sb.chat(text=FIRST_MESSAGE, customer={"name": "Carla"})
    offer = await alice.expect("offer")
    wait_s(2)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    _, started_b = await sb.chat(text="Do you ship to Norway?", customer={"name": "Nils"})
    abandoning, _ = await sb.chat(text="Hello?", customer={"name": "Quinn"})
    await abandoning.ok({"type": "end_chat"})
    wait_s(4)
    await alice.ok({"type": "end_session", "conversation_id": started_a["conversation_id"]})
    wait_s(1)
    await alice.ok({"type": "wrap_up", "conversation_id": started_a["conversation_id"], "code": "resolved"})
    offer = await alice.expect("offer", session_id=started_b["session_id"])
    wait_s(2)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    wait_s(3)
    await alice.ok({"type": "end_session", "conversation_id": started_b["conversation_id"]})
    wait_s(2)
    await alice.ok({"type": "wrap_up", "conversation_id": started_b["conversation_id"], "code": "resolved"})

    _, started_s = await sb.chat(queue="sales", text="A quote, please", customer={"name": "Sam"})
    offer = await bob.expect("offer")
    wait_s(1)
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.ok({"type": "end_session", "conversation_id": started_s["conversation_id"]})
    await bob.ok({"type": "wrap_up", "conversation_id": started_s["conversation_id"], "code": "resolved"})
    await sb.archive_caught_up()


async def reported(sb: Any, kind: str, **filters: Any) -> list[dict[str, Any]]:
    """The rows of a report over yesterday, once PostgreSQL has every figure the test made."""
    start = yesterday_at(time(0))
    params = {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat(), "tz": ZONE, **filters}

    async def rows() -> list[dict[str, Any]]:
        answer = await sb.http.get(f"/api/v1/reports/{kind}", params=params)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["rows"]
        return found

    return await eventually(rows)


async def supervisor_user(sb: Any) -> str:
    """Sue, a supervisor of both queues with a password; returns her email."""
    await sb.agent("sue", role="supervisor", queues=QUEUES)
    body = {"id": "sue", "email": "sue@example.com", "name": "Sue", "role": "supervisor", "queues": QUEUES}
    await sb.admin("POST", "/api/v1/users", {**body, "password": PASSWORD}, expect=201)
    return str(body["email"])


async def open_reports(browser: Any, sb: Any, token: str = "", email: str = "") -> tuple[Page, list[str]]:
    """The supervisor view in a browser in Paris, signed in with a pasted `token` or with the
    `email`'s password (the session cookie), on its Reports page: yesterday, by hour."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id=ZONE)
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    problems = page_problems(page)
    if token:
        await page.goto(f"{sb.node.base}/supervisor#paste")
        await page.get_by_label("Agent token").fill(token)
    else:
        await page.goto(f"{sb.node.base}/login?next=%2Fsupervisor")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#conn")).to_have_text("Live")
    # the queues' names come with the first figures
    await expect(page.locator('#tiles > li.tile[data-queue="sales"]')).to_have_count(1)
    await page.get_by_role("button", name="Reports", exact=True).click()
    await expect(page.get_by_role("button", name="Reports", exact=True)).to_have_attribute("aria-pressed", "true")
    yesterday = yesterday_at(DAY_STARTS).date().isoformat()
    await expect(page.get_by_label("From", exact=True)).to_have_value(yesterday)
    await expect(page.get_by_label("To", exact=True)).to_have_value(yesterday)
    await expect(page.get_by_label("Interval", exact=True)).to_have_value("hour")
    await expect(page.locator("#report-zone")).to_have_text(f"Times in {ZONE}")
    return page, problems


def queue_rows(page: Page, queue: str) -> Any:
    return page.locator(f'#report-queues tbody tr[data-queue="{queue}"]')


async def table_figures(rows: Any) -> list[dict[str, str]]:
    """Each table row's interval (as the API gave it) and its figures' texts, by the API's names."""
    return list(
        await rows.evaluate_all(
            """rows => rows.map((tr) => {
                 const figures = { interval_start: tr.dataset.interval };
                 tr.querySelectorAll('td[data-figure]').forEach((td) => { figures[td.dataset.figure] = td.textContent; });
                 return figures;
               })"""
        )
    )


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


async def test_yesterdays_service_level_by_hour_filtered_and_exported(
    controlled_clock: None, browser: Any, make_deployment: Any, tmp_path: Path
) -> None:
    sb = await make_deployment(stats_interval_s=0.3)
    await drive_a_day(sb)
    sue_token = await sb.agent("sue", role="supervisor", queues=QUEUES)
    api_rows = await reported(sb, "queues")
    assert {row["queue"] for row in api_rows} == {"support", "sales"}

    page, problems = await open_reports(browser, sb, token=sue_token)
    # Both queues, yesterday's 10:00 only; support's figures are the day as driven.
    await expect(queue_rows(page, "support")).to_have_count(1)
    await expect(queue_rows(page, "sales")).to_have_count(1)
    [support] = await table_figures(queue_rows(page, "support"))
    assert datetime.fromisoformat(support["interval_start"]) == yesterday_at(time(10))
    await expect(queue_rows(page, "support").locator("th")).to_contain_text(re.compile(r"10:00\sAM"))
    assert [support[name] for name in COUNTS] == ["3", "2", "1", "1", "1"]
    assert [support[name] for name in ("service_level", "asa_s", "avg_wait_s", "max_wait_s", "aht_s")] == [
        "50%",
        "4.5s",
        "3s",
        "7s",
        "5s",
    ]
    [sales] = await table_figures(queue_rows(page, "sales"))
    assert [sales[name] for name in ("answered_in_sl", "service_level")] == ["1", "100%"]
    # The charts: service level and waits by interval (a line per queue), handled chats and AHT by agent.
    for chart in ("#chart-service-level", "#chart-waits", "#chart-agents"):
        await expect(page.locator(f"{chart} canvas")).to_have_count(1)
    await expect(page.locator("#chart-service-level .u-legend .u-series").filter(has_text="Support")).to_have_count(1)
    await expect(
        page.locator("#chart-waits .u-legend .u-series").filter(has_text="Support longest wait")
    ).to_have_count(1)
    # Each agent's handled chats and handle time.
    alice = page.locator('#report-agents tbody tr[data-agent="alice"]')
    await expect(alice.locator('td[data-figure="handled"]')).to_have_text("2")
    await expect(alice.locator('td[data-figure="aht_s"]')).to_have_text("5s")
    await screenshot(page, "reports.png", tmp_path)
    await assert_accessible(page)

    # Filtered by queue: support only, on the keyboard.
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(queue_rows(page, "sales")).to_have_count(0)
    await expect(queue_rows(page, "support")).to_have_count(1)
    assert await table_figures(queue_rows(page, "support")) == [support]
    # By day: one row, the day's sums.
    await page.get_by_label("Interval", exact=True).select_option("day")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(queue_rows(page, "support")).to_have_count(1)
    await expect(queue_rows(page, "support").locator('td[data-figure="offered"]')).to_have_text("3")
    await expect(queue_rows(page, "support").locator('td[data-figure="service_level"]')).to_have_text("50%")
    await page.get_by_label("Interval", exact=True).select_option("hour")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(queue_rows(page, "support")).to_have_attribute("data-interval", support["interval_start"])

    # The CSV of what is shown: its numbers are the table's.
    async with page.expect_download() as downloading:
        await page.locator("#report-queues-csv").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
    [row] = exported
    assert row["queue"] == "support"
    assert datetime.fromisoformat(row["interval_start"]) == datetime.fromisoformat(support["interval_start"])
    assert [row[name] for name in COUNTS] == [support[name] for name in COUNTS]
    assert float(row["service_level"]) == percent(support["service_level"])
    assert [float(row[name]) for name in ("asa_s", "avg_wait_s", "max_wait_s", "aht_s")] == [4.5, 3, 7, 5]

    # Signing out forgets the reports: whoever signs in next starts on the live page.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Agent token").fill(sue_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Live", exact=True)).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#report-queues tbody tr")).to_have_count(0)
    assert problems == []


async def test_signed_in_an_interaction_opens_its_transcript(
    controlled_clock: None, browser: Any, make_deployment: Any
) -> None:
    sb = await make_deployment(stats_interval_s=0.3)
    await drive_a_day(sb)
    email = await supervisor_user(sb)
    await reported(sb, "interactions", queue="support")

    page, problems = await open_reports(browser, sb, email=email)
    interactions = page.locator("#report-interactions tbody tr")
    await expect(interactions).to_have_count(4)
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(interactions).to_have_count(3)
    opener = page.get_by_role("button", name="Open the transcript of Carla")
    await opener.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("heading")).to_have_text("Transcript: Carla")
    await expect(dialog.locator(".entry-text").first).to_have_text(FIRST_MESSAGE)
    await assert_accessible(page)
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()
    assert problems == []
