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
# SHORT_ABANDON_S is a short one (left out of the service level).
SERVICE_LEVEL_S = 5
SHORT_ABANDON_S = 5
# The clock jumps hours between the day's busy spells: the node's liveness must outlast a jump.
NODE_TTL_S = 86400
QUEUES = ["support", "sales"]
PASSWORD = "correct horse battery"
FIRST_MESSAGE = "My order never arrived"
COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl")
# Support's hours as driven (see a_day_of_chats), figures as the table shows them.
SUPPORT_HOURS = {
    time(9): {"offered": "3", "answered": "2", "abandoned": "1", "short_abandoned": "1", "answered_in_sl": "1",
              "service_level": "50%", "asa_s": "4.5s", "avg_wait_s": "3s", "max_wait_s": "7s", "aht_s": "5s"},
    time(11): {"offered": "1", "answered": "1", "abandoned": "0", "short_abandoned": "0", "answered_in_sl": "1",
               "service_level": "100%", "asa_s": "1s", "avg_wait_s": "1s", "max_wait_s": "1s", "aht_s": "6s"},
    time(14): {"offered": "2", "answered": "1", "abandoned": "1", "short_abandoned": "0", "answered_in_sl": "0",
               "service_level": "0%", "asa_s": "8s", "avg_wait_s": "8s", "max_wait_s": "8s", "aht_s": "4s"},
}  # fmt: skip


@pytest.fixture
def controlled_clock() -> Iterator[None]:
    """The server's clock, frozen and moved by the test (store/clock.py); set before the test starts
    its node (a test lists this fixture first: the real time comes back after the node stops)."""
    clock.set_clock(at_ms(yesterday_at(time(9))))
    yield
    clock.reset_clock()


def yesterday_at(moment: time) -> datetime:
    """Yesterday in Paris (as the browser there counts it) at `moment`."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    return datetime.combine(today - timedelta(days=1), moment, ZoneInfo(ZONE))


def at_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def wait_s(seconds: int) -> None:
    """The server's frozen clock moves on: what the customers wait, the agents talk and wrap up."""
    clock.advance_clock(seconds * 1000)


async def answered(agent: Any, sb: Any, name: str, wait: int, talk: int, wrap: int, **chat: Any) -> None:
    """A chat that `agent` answers after `wait` seconds, talks for `talk` and wraps up in `wrap`."""
    _, started = await sb.chat(customer={"name": name}, **chat)
    offer = await agent.expect("offer", session_id=started["session_id"])
    wait_s(wait)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    wait_s(talk)
    await agent.ok({"type": "end_session", "conversation_id": started["conversation_id"]})
    wait_s(wrap)
    await agent.ok({"type": "wrap_up", "conversation_id": started["conversation_id"], "code": "resolved"})


async def abandoned(sb: Any, name: str, wait: int) -> None:
    """A support chat whose customer leaves after `wait` seconds, unanswered."""
    customer, _ = await sb.chat(customer={"name": name})
    wait_s(wait)
    await customer.ok({"type": "end_chat"})


async def a_day_of_chats(make_deployment: Any) -> Any:
    """A deployment that has been through yesterday, on the frozen clock; support's service level 5 s. At 9:15 Alice answers Carla in
    2 s (in SL; talk 4 s, wrap-up 1 s) and Nils in 7 s (out; 3 s, 2 s); Quinn leaves at once (a short
    abandon). At 11:15 she answers Dora in 1 s (5 s, 1 s), and Bob answers Sam in sales in 1 s. At
    14:15 she answers Eve in 8 s (out; 2 s, 2 s), and Finn leaves after 8 s (abandoned, not short).
    SUPPORT_HOURS has support's figures by hour, worked out by hand; over the day support was offered
    6, answered 4, abandoned 2 (1 short), 2 in SL: service level 2 / (4 + 2 - 1) = 40 %; Alice
    handled 4 with an AHT of (5 + 5 + 6 + 4) / 4 = 5 s."""
    sb = await make_deployment(stats_interval_s=0.3, node_ttl_s=NODE_TTL_S)
    rules = {"service_level_s": SERVICE_LEVEL_S, "short_abandon_s": SHORT_ABANDON_S}
    await sb.queue("support", **rules)
    await sb.queue("sales", **rules)
    alice = await sb.available_agent("alice", capacity=1)
    bob = await sb.available_agent("bob", queues=["sales"])

    clock.set_clock(at_ms(yesterday_at(time(9, 15))))
    await answered(alice, sb, "Carla", wait=2, talk=4, wrap=1, text=FIRST_MESSAGE)
    await answered(alice, sb, "Nils", wait=7, talk=3, wrap=2)
    await abandoned(sb, "Quinn", wait=0)
    clock.set_clock(at_ms(yesterday_at(time(11, 15))))
    await answered(alice, sb, "Dora", wait=1, talk=5, wrap=1)
    await answered(bob, sb, "Sam", wait=1, talk=2, wrap=0, queue="sales")
    clock.set_clock(at_ms(yesterday_at(time(14, 15))))
    await answered(alice, sb, "Eve", wait=8, talk=2, wrap=2)
    await abandoned(sb, "Finn", wait=8)
    await sb.archive_caught_up()
    return sb


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


async def new_page(browser: Any, locale: str) -> tuple[Page, list[str]]:
    """A page of a browser in Paris speaking `locale`, and the problems it logs."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale, timezone_id=ZONE)
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    return page, page_problems(page)


async def open_reports(browser: Any, sb: Any, token: str = "", email: str = "") -> tuple[Page, list[str]]:
    """The supervisor view in a browser in Paris, signed in with a pasted `token` or with the
    `email`'s password (the session cookie), on its Reports page: yesterday, by hour."""
    page, problems = await new_page(browser, "en-US")
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
    yesterday = yesterday_at(time(0)).date().isoformat()
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


def seconds(text: str) -> float:
    """A duration under a minute as the table shows it ("4.5s")."""
    return float(text.rstrip("s"))


SECONDS = ("asa_s", "avg_wait_s", "max_wait_s", "aht_s")
FIGURES = (*COUNTS, "service_level", *SECONDS)


async def test_yesterdays_service_level_by_hour_filtered_and_exported(
    controlled_clock: None, browser: Any, make_deployment: Any, tmp_path: Path
) -> None:
    sb = await a_day_of_chats(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor", queues=QUEUES)
    api_rows = await reported(sb, "queues")
    assert {row["queue"] for row in api_rows} == {"support", "sales"}

    page, problems = await open_reports(browser, sb, token=sue_token)
    # Yesterday by hour: support's three busy hours, each with its figures as worked out by hand.
    rows = queue_rows(page, "support")
    await expect(rows).to_have_count(len(SUPPORT_HOURS))
    await expect(queue_rows(page, "sales")).to_have_count(1)
    support = await table_figures(rows)
    assert [datetime.fromisoformat(row["interval_start"]) for row in support] == [
        yesterday_at(hour) for hour in SUPPORT_HOURS
    ]
    assert [{name: row[name] for name in FIGURES} for row in support] == list(SUPPORT_HOURS.values())
    hours_shown = [re.compile(r"\b9:00\sAM"), re.compile(r"\b11:00\sAM"), re.compile(r"\b2:00\sPM")]
    await expect(rows.locator("th")).to_contain_text(hours_shown)
    [sales] = await table_figures(queue_rows(page, "sales"))
    assert [sales[name] for name in ("answered_in_sl", "service_level")] == ["1", "100%"]
    # The charts: service level and waits by interval (a line per queue), handled chats and AHT by agent.
    for chart in ("#chart-service-level", "#chart-waits", "#chart-agents"):
        await expect(page.locator(f"{chart} canvas")).to_have_count(1)
    await expect(page.locator("#chart-service-level .u-legend .u-series").filter(has_text="Support")).to_have_count(1)
    await expect(
        page.locator("#chart-waits .u-legend .u-series").filter(has_text="Support longest wait")
    ).to_have_count(1)
    # Each agent's handled chats and handle time, by hour: Alice's are support's; signed in from
    # 9:00 to 14:00, she has a row for each hour (its time available), chats or not.
    alice = page.locator('#report-agents tbody tr[data-agent="alice"]')
    await expect(alice.locator('td[data-figure="handled"]')).to_have_text(["2", "0", "1", "0", "0", "1"])
    await expect(alice.locator('td[data-figure="aht_s"]')).to_have_text(["5s", "–", "6s", "–", "–", "4s"])
    await screenshot(page, "reports.png", tmp_path)
    await assert_accessible(page)

    # Filtered by queue: support only, on the keyboard.
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(queue_rows(page, "sales")).to_have_count(0)
    await expect(rows).to_have_count(len(SUPPORT_HOURS))
    assert await table_figures(rows) == support
    # By day: one row, the day's figures.
    await page.get_by_label("Interval", exact=True).select_option("day")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(1)
    [day] = await table_figures(rows)
    assert [day[name] for name in (*COUNTS, "service_level")] == ["6", "4", "2", "1", "2", "40%"]
    await page.get_by_label("Interval", exact=True).select_option("hour")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(len(SUPPORT_HOURS))

    # The CSV of what is shown: its numbers are the table's.
    async with page.expect_download() as downloading:
        await page.locator("#report-queues-csv").click()
    download = await downloading.value
    assert download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8-sig"))))
    assert [row["queue"] for row in exported] == ["support"] * len(support)
    for row, shown in zip(exported, support, strict=True):
        assert datetime.fromisoformat(row["interval_start"]) == datetime.fromisoformat(shown["interval_start"])
        assert [row[name] for name in COUNTS] == [shown[name] for name in COUNTS]
        assert float(row["service_level"]) == percent(shown["service_level"])
        assert [float(row[name]) for name in SECONDS] == [seconds(shown[name]) for name in SECONDS]

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
    sb = await a_day_of_chats(make_deployment)
    email = await supervisor_user(sb)
    await reported(sb, "interactions", queue="support")

    page, problems = await open_reports(browser, sb, email=email)
    interactions = page.locator("#report-interactions tbody tr")
    await expect(interactions).to_have_count(7)
    await page.get_by_label("For queue").select_option("support")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(interactions).to_have_count(6)
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


async def test_in_german_the_words_numbers_and_dates_are_german(
    controlled_clock: None, browser: Any, make_deployment: Any
) -> None:
    sb = await a_day_of_chats(make_deployment)
    sue_token = await sb.agent("sue", role="supervisor", queues=QUEUES)
    await reported(sb, "queues")
    page, problems = await new_page(browser, "de-DE")
    await page.goto(f"{sb.node.base}/supervisor#token={sue_token}")
    await expect(page.locator('#tiles > li.tile[data-queue="sales"]')).to_have_count(1)
    await page.get_by_role("button", name="Berichte", exact=True).click()
    await expect(page.get_by_label("Intervall", exact=True)).to_have_value("hour")
    rows = queue_rows(page, "support")
    await expect(rows).to_have_count(len(SUPPORT_HOURS))
    await expect(page.locator("#report-queues thead th").nth(6)).to_have_text("Im SL angenommen")
    first = rows.first
    await expect(first.locator("th")).to_contain_text(re.compile(r"\b09:00\b"))
    await expect(first.locator('td[data-figure="service_level"]')).to_have_text("50\u00a0%")
    await expect(first.locator('td[data-figure="asa_s"]')).to_have_text("4,5\u00a0Sek.")
    assert problems == []
