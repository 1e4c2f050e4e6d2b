"""The reports page of the supervisor view (widget/supervisor/reports*.js, charts.js) in a real
headless Chromium, against a real server whose figures come from real PostgreSQL: a day of chats
with known outcomes is driven through the server's sockets, then the supervisor reads them as
yesterday's report (the browser's clock is a day ahead of the server's), filters by queue,
downloads the CSV and finds the table's numbers in it, and opens an interaction's transcript."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect
from test_supervisor_browser import WAIT_MS, screenshot

from axe import assert_accessible
from support import eventually, page_problems

ZONE = "Europe/Paris"
# A chat answered within this many seconds counts towards the service level.
SERVICE_LEVEL_S = 1.0
# Chat B waits this long before it is answered: out of the service level.
LATE_ANSWER_S = SERVICE_LEVEL_S + 0.3
QUEUES = ["support", "sales"]
PASSWORD = "correct horse battery"
COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl")


class Day:
    """What the test drove through the server, and when (server time)."""

    def __init__(self) -> None:
        self.moments: list[datetime] = []
        self.first_message = "My order never arrived"

    def note(self) -> None:
        self.moments.append(datetime.now(ZoneInfo(ZONE)))

    def hours(self) -> set[datetime]:
        """The local hours the chats happened in (normally one)."""
        return {moment.replace(minute=0, second=0, microsecond=0) for moment in self.moments}


async def drive_a_day(sb: Any) -> Day:
    """Queue support (SL 1 s): A answered at once (in SL), B answered after 1.3 s (out of SL),
    C abandoned at once (a short abandon: not in the service level). So support's service level
    is 1 / (2 + 1 - 1) = 50 %. Queue sales: one chat answered at once by Bob (100 %)."""
    day = Day()
    await sb.queue("support", service_level_s=SERVICE_LEVEL_S)
    await sb.queue("sales")
    alice = await sb.available_agent("alice", capacity=1)
    bob = await sb.available_agent("bob", queues=["sales"])

    day.note()
    _, started_a = await sb.chat(text=day.first_message, customer={"name": "Carla"})
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    _, started_b = await sb.chat(text="Do you ship to Norway?", customer={"name": "Nils"})
    abandoning, _ = await sb.chat(text="Hello?", customer={"name": "Quinn"})
    await abandoning.ok({"type": "end_chat"})
    # B's wait is the figure under test: it must pass the service level before Alice is free.
    await asyncio.sleep(LATE_ANSWER_S)
    await alice.ok({"type": "end_session", "conversation_id": started_a["conversation_id"]})
    await alice.ok({"type": "wrap_up", "conversation_id": started_a["conversation_id"], "code": "resolved"})
    offer = await alice.expect("offer", session_id=started_b["session_id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await alice.ok({"type": "end_session", "conversation_id": started_b["conversation_id"]})
    await alice.ok({"type": "wrap_up", "conversation_id": started_b["conversation_id"], "code": "resolved"})

    _, started_s = await sb.chat(queue="sales", text="A quote, please", customer={"name": "Sam"})
    offer = await bob.expect("offer")
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.ok({"type": "end_session", "conversation_id": started_s["conversation_id"]})
    await bob.ok({"type": "wrap_up", "conversation_id": started_s["conversation_id"], "code": "resolved"})
    day.note()
    await sb.archive_caught_up()
    return day


async def reported(sb: Any, kind: str, day: Day, **filters: Any) -> list[dict[str, Any]]:
    """The rows of a report over the day, once PostgreSQL has every figure the test made."""
    start = min(day.moments).replace(hour=0, minute=0, second=0, microsecond=0)
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


async def open_reports(browser: Any, sb: Any, day: Day, token: str = "", email: str = "") -> tuple[Page, list[str]]:
    """The supervisor view in Paris, its clock a day after the server's, signed in with a pasted
    `token` or with the `email`'s password (the session cookie), on its Reports page."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id=ZONE)
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    problems = page_problems(page)
    await page.clock.set_system_time(datetime.now(ZoneInfo(ZONE)) + timedelta(days=1))
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
    yesterday = min(day.moments).date().isoformat()
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


def same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


async def test_yesterdays_service_level_by_hour_filtered_and_exported(browser, make_deployment, tmp_path: Path):
    sb = await make_deployment(stats_interval_s=0.3)
    day = await drive_a_day(sb)
    sue_token = await sb.agent("sue", role="supervisor", queues=QUEUES)
    api_rows = await reported(sb, "queues", day)
    assert {row["queue"] for row in api_rows} == {"support", "sales"}
    hours = day.hours()

    page, problems = await open_reports(browser, sb, day, token=sue_token)
    # Both queues, by hour; support's figures add up to the day as driven.
    await expect(queue_rows(page, "support")).to_have_count(len(hours))
    await expect(queue_rows(page, "sales")).to_have_count(len(hours))
    support = await table_figures(queue_rows(page, "support"))
    assert {datetime.fromisoformat(row["interval_start"]) for row in support} == hours
    assert [sum(int(row[name]) for row in support) for name in COUNTS] == [3, 2, 1, 1, 1]
    if len(hours) == 1:
        assert support[0]["service_level"] == "50%"
        hour = next(iter(hours))
        when = queue_rows(page, "support").first.locator("th")
        await expect(when).to_contain_text(re.compile(rf"{hour.hour % 12 or 12}:00\s?[AP]M"))
    sales = await table_figures(queue_rows(page, "sales"))
    assert sum(int(row["answered_in_sl"]) for row in sales) == 1
    # The charts: service level and waits by interval (a line per queue), handled chats and AHT by agent.
    for chart in ("#chart-service-level", "#chart-waits", "#chart-agents"):
        await expect(page.locator(f"{chart} canvas")).to_have_count(1)
    await expect(page.locator("#chart-service-level .u-legend .u-series").filter(has_text="Support")).to_have_count(1)
    await expect(
        page.locator("#chart-waits .u-legend .u-series").filter(has_text="Support longest wait")
    ).to_have_count(1)
    # Each agent's handled chats and handle time.
    alice = page.locator('#report-agents tbody tr[data-agent="alice"]')
    handled = await alice.locator('td[data-figure="handled"]').all_text_contents()
    assert sum(int(text) for text in handled) == 2
    await expect(alice.first.locator('td[data-figure="aht_s"]')).to_have_text(re.compile(r"^\d+(\.\d)?s$"))
    await screenshot(page, "reports.png", tmp_path)
    await assert_accessible(page)

    # Filtered by queue: support only, on the keyboard.
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(queue_rows(page, "sales")).to_have_count(0)
    await expect(queue_rows(page, "support")).to_have_count(len(hours))
    assert await table_figures(queue_rows(page, "support")) == support
    # By day: one row, the day's sums.
    await page.get_by_label("Interval", exact=True).select_option("day")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(queue_rows(page, "support")).to_have_count(1)
    await expect(queue_rows(page, "support").locator('td[data-figure="offered"]')).to_have_text("3")
    await expect(queue_rows(page, "support").locator('td[data-figure="service_level"]')).to_have_text("50%")
    await page.get_by_label("Interval", exact=True).select_option("hour")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(queue_rows(page, "support").first).to_have_attribute("data-interval", support[0]["interval_start"])

    # The CSV of what is shown: its numbers are the table's.
    async with page.expect_download() as downloading:
        await page.locator("#report-queues-csv").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
    assert {row["queue"] for row in exported} == {"support"}
    assert len(exported) == len(support)
    for shown in support:
        row = next(r for r in exported if same_instant(r["interval_start"], shown["interval_start"]))
        assert [int(row[name]) for name in COUNTS] == [int(shown[name]) for name in COUNTS]
        assert abs(float(row["service_level"]) - percent(shown["service_level"])) < 0.001
    assert problems == []


async def test_signed_in_an_interaction_opens_its_transcript(browser, make_deployment):
    sb = await make_deployment(stats_interval_s=0.3)
    day = await drive_a_day(sb)
    email = await supervisor_user(sb)
    await reported(sb, "interactions", day, queue="support")

    page, problems = await open_reports(browser, sb, day, email=email)
    interactions = page.locator("#report-interactions tbody tr")
    await expect(interactions).to_have_count(4)
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(interactions).to_have_count(3)
    opener = page.get_by_role("button", name="Open the transcript of Carla")
    await opener.click()
    dialog = page.get_by_role("dialog")
    await expect(dialog.get_by_role("heading")).to_have_text("Transcript: Carla")
    await expect(dialog.locator(".entry-text").first).to_have_text(day.first_message)
    await assert_accessible(page)
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(opener).to_be_focused()
    assert problems == []
