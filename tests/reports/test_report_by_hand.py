"""A day of chats with known outcomes, played through the real server on its controlled clock, and every
figure of the queue and agent reports (JSON and CSV, by hour and by day) checked against values worked
out by hand below, to the unit.

The day is yesterday in Asia/Kolkata (UTC+05:30, no summer time: interval starts carry "+05:30").
Queues: `support` (service level 30 s, short abandon 10 s) and `sales` (service level 20 s, short
abandon 5 s); offers ring 20 s, both queues. Agents (capacity 1 each): ann and bob in support, cat in
sales. All times below are local; the clock stands still between steps, so each event happens at the
second written.

08:00:00 ann signs in, available
C1 support  08:10:00 queued, offered ann; 08:10:08 ann accepts (wait 8 s, in SL); 08:15:08 customer ends
            (talk 300 s), rates 5; 08:16:08 ann wraps up `resolved` (wrap 60 s)
C2 sales    08:30:00 queued (nobody in sales); 08:30:03 customer leaves: abandoned after 3 s (short)
C3 sales    08:40:00 queued; 08:41:00 customer leaves: abandoned after 60 s
09:00:00 ann not ready `Lunch`; bob and cat sign in, available
C4 support  09:05:00 queued, offered bob; 09:05:20 the offer rings out: RONA, bob in state rona;
            09:06:00 ann available, offered ann; 09:06:30 ann accepts (wait 90 s, out of SL);
            09:10:00 ann transfers to sales, offered cat; 09:10:10 cat accepts (not an answer: a transfer);
            09:20:00 cat ends (talk from the session's connection 09:06:30: 810 s), customer rates 3;
            09:21:00 cat wraps up `upsell` (wrap 60 s)
09:30:00 bob available again (rona 09:05:20-09:30:00 = 1480 s); 09:50:00 ann not ready `Break`
C5 support  10:00:00 queued, offered bob; 10:00:05 bob declines, ann available, offered ann;
            10:00:15 ann accepts (wait 15 s, in SL); 10:05:00 ann invites bob to a conference (offered bob);
            10:05:10 bob joins; 10:08:00 bob leaves; 10:10:00 customer ends (talk 585 s), rates 4;
            10:10:30 ann wraps up `resolved` (wrap 30 s)
C6 sales    10:20:00 queued, offered cat; 10:20:02 cat accepts (wait 2 s, in SL); 10:24:02 cat ends
            (talk 240 s), customer rates 2; 10:25:02 cat wraps up `resolved` (wrap 60 s)
11:00:00 ann, bob and cat sign out (offline). The report is read at 00:30 the next day.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from support import Client
from switchboard.store import clock

ZONE = ZoneInfo("Asia/Kolkata")
DAY = datetime.now(ZONE).date() - timedelta(days=1)
QUEUES_PATH, AGENTS_PATH = "/api/v1/reports/queues", "/api/v1/reports/agents"
CODES = [{"code": "resolved", "label": "Resolved"}, {"code": "upsell", "label": "Upsell"}]


@pytest.fixture
def controlled_clock() -> Iterator[None]:
    """The test sets and moves the server's clock; the real time comes back after it."""
    yield
    clock.reset_clock()


class Day:
    """The server's clock, set to moments of DAY (local), forward only."""

    def __init__(self) -> None:
        self.now = datetime.combine(DAY, datetime.min.time(), ZONE)

    def at(self, hour: int, minute: int = 0, second: int = 0, *, days: int = 0) -> None:
        moment = datetime.combine(DAY + timedelta(days=days), datetime.min.time(), ZONE).replace(
            hour=hour, minute=minute, second=second
        )
        assert moment > self.now, "the clock only moves forward"
        self.now = moment
        clock.set_clock(int(moment.timestamp() * 1000))


def start(hour: int) -> str:
    return datetime.combine(DAY, datetime.min.time(), ZONE).replace(hour=hour).isoformat()


async def offer_to(agent: Client, **fields: Any) -> str:
    offer = await agent.expect("offer", **fields)
    return str(offer["offer_id"])


async def accept(agent: Client, offer_id: str, cid: str) -> None:
    await agent.ok({"type": "accept", "offer_id": offer_id})
    await agent.expect("conversation.assigned", conversation_id=cid)


async def rate(customer: Client, rating: int) -> None:
    await customer.expect("csat.requested")
    await customer.ok({"type": "csat", "rating": rating})


async def wrap(agent: Client, cid: str, code: str) -> None:
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": code})
    await agent.expect("conversation.closed", conversation_id=cid)


async def set_state(agent: Client, state: str, reason: str | None = None) -> None:
    await agent.ok({"type": "set_state", "state": state, **({"reason": reason} if reason else {})})


async def play_the_day(sb: Any) -> None:
    day = Day()
    day.at(8)
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": ["Break", "Lunch"]})
    for qid, sl, short in (("support", 30, 10), ("sales", 20, 5)):
        await sb.queue(qid, service_level_s=sl, short_abandon_s=short, offer_timeout_s=20, wrap_up_codes=CODES)
    ann = await sb.available_agent("ann", queues=["support"], capacity=1)
    bob_token = await sb.agent("bob", queues=["support"], capacity=1)
    cat_token = await sb.agent("cat", queues=["sales"], capacity=1)

    # C1: answered fast, rated 5, wrapped up `resolved`
    day.at(8, 10)
    c1, started = await sb.chat("support", text="My parcel is late")
    cid1 = started["conversation_id"]
    offer = await offer_to(ann, conversation_id=cid1)
    day.at(8, 10, 8)
    await accept(ann, offer, cid1)
    day.at(8, 15, 8)
    await c1.ok({"type": "end_chat"})
    await rate(c1, 5)
    day.at(8, 16, 8)
    await wrap(ann, cid1, "resolved")

    # C2, C3: abandoned, short and long
    for begin, leave in (((8, 30, 0), (8, 30, 3)), ((8, 40, 0), (8, 41, 0))):
        day.at(*begin)
        leaving, _ = await sb.chat("sales", text="Anyone there?")
        await leaving.expect("chat.queued")
        day.at(*leave)
        await leaving.ok({"type": "end_chat"})

    day.at(9)
    await set_state(ann, "not_ready", "Lunch")
    bob, _ = await sb.agent_socket(bob_token)
    await set_state(bob, "available")
    cat, _ = await sb.agent_socket(cat_token)
    await set_state(cat, "available")

    # C4: a RONA, answered slowly, transferred to sales, wrapped up there
    day.at(9, 5)
    c4, started = await sb.chat("support", text="I want to buy more")
    cid4 = started["conversation_id"]
    await offer_to(bob, conversation_id=cid4)
    day.at(9, 5, 20)
    await bob.expect("agent.state", state="rona")
    day.at(9, 6)
    await set_state(ann, "available")
    offer = await offer_to(ann, conversation_id=cid4)
    day.at(9, 6, 30)
    await accept(ann, offer, cid4)
    day.at(9, 10)
    await ann.ok({"type": "transfer", "conversation_id": cid4, "queue": "sales"})
    offer = await offer_to(cat, conversation_id=cid4)
    day.at(9, 10, 10)
    await accept(cat, offer, cid4)
    day.at(9, 20)
    await cat.ok({"type": "end_session", "conversation_id": cid4})
    await rate(c4, 3)
    day.at(9, 21)
    await wrap(cat, cid4, "upsell")

    day.at(9, 30)
    await set_state(bob, "available")
    day.at(9, 50)
    await set_state(ann, "not_ready", "Break")

    # C5: declined by bob, answered by ann, a conference with bob, rated 4
    day.at(10)
    c5, started = await sb.chat("support", text="Can two of you look at this?")
    cid5 = started["conversation_id"]
    offer = await offer_to(bob, conversation_id=cid5)
    day.at(10, 0, 5)
    await bob.ok({"type": "decline", "offer_id": offer})
    await set_state(ann, "available")
    offer = await offer_to(ann, conversation_id=cid5)
    day.at(10, 0, 15)
    await accept(ann, offer, cid5)
    day.at(10, 5)
    await ann.ok({"type": "conference", "conversation_id": cid5, "agent": "bob"})
    offer = await offer_to(bob, kind="conference")
    day.at(10, 5, 10)
    await accept(bob, offer, cid5)
    day.at(10, 8)
    await bob.ok({"type": "leave", "conversation_id": cid5})
    day.at(10, 10)
    await c5.ok({"type": "end_chat"})
    await rate(c5, 4)
    day.at(10, 10, 30)
    await wrap(ann, cid5, "resolved")

    # C6: sales answered fast, rated 2
    day.at(10, 20)
    c6, started = await sb.chat("sales", text="A quick question")
    cid6 = started["conversation_id"]
    offer = await offer_to(cat, conversation_id=cid6)
    day.at(10, 20, 2)
    await accept(cat, offer, cid6)
    day.at(10, 24, 2)
    await cat.ok({"type": "end_session", "conversation_id": cid6})
    await rate(c6, 2)
    day.at(10, 25, 2)
    await wrap(cat, cid6, "resolved")

    day.at(11)
    for agent in (ann, bob, cat):
        await set_state(agent, "offline")
    day.at(0, 30, days=1)


def queue_row(interval_start: str, queue: str, **figures: Any) -> dict[str, Any]:
    """A queue row: every figure zero or null unless given."""
    row: dict[str, Any] = {
        "interval_start": interval_start,
        "queue": queue,
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandoned": 0,
        "answered_in_sl": 0,
        "service_level": None,
        "asa_s": None,
        "avg_wait_s": None,
        "max_wait_s": None,
        "handled": 0,
        "aht_s": None,
        "talk_s": None,
        "wrap_s": None,
        "transfers_in": 0,
        "transfers_out": 0,
        "conferences": 0,
        "ronas": 0,
        "declines": 0,
        "bot_contained": 0,
        "handed_off": 0,
        "csat_responses": 0,
        "csat_avg": None,
        "csat_1": 0,
        "csat_2": 0,
        "csat_3": 0,
        "csat_4": 0,
        "csat_5": 0,
        "channels": {},
    }
    assert set(figures) <= set(row)
    return row | figures


def agent_row(interval_start: str, agent: str, **figures: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "interval_start": interval_start,
        "agent": agent,
        "offered": 0,
        "accepted": 0,
        "declined": 0,
        "ronas": 0,
        "handled": 0,
        "aht_s": None,
        "talk_s": None,
        "wrap_s": None,
        "wrap_codes": {},
        "csat_responses": 0,
        "csat_avg": None,
        "available_s": 0,
        "busy_s": 0,
        "not_ready_s": 0,
        "rona_s": 0,
        "offline_s": 0,
        "not_ready_reasons": {},
        "occupancy": None,
        "utilisation": None,
    }
    assert set(figures) <= set(row)
    return row | figures


# fmt: off
QUEUES_BY_HOUR = [
    queue_row(start(8), "sales", offered=2, abandoned=2, short_abandoned=1,  # C2 (3 s < 5 s), C3 (60 s)
              service_level=0.0,  # 0 in SL / (0 answered + 2 abandoned - 1 short)
              avg_wait_s=31.5,  # (3 + 60) / 2
              max_wait_s=60.0, channels={"webchat": 2}),
    queue_row(start(8), "support", offered=1, answered=1, answered_in_sl=1,  # C1, 8 s <= 30 s
              service_level=1.0, asa_s=8.0, avg_wait_s=8.0, max_wait_s=8.0,
              handled=1, aht_s=360.0, talk_s=300.0, wrap_s=60.0,  # 300 + 60
              csat_responses=1, csat_avg=5.0, csat_5=1, channels={"webchat": 1}),
    queue_row(start(9), "sales", offered=1, transfers_in=1,  # C4 transferred in; cat's connection is no answer
              handled=1, aht_s=870.0, talk_s=810.0, wrap_s=60.0,  # C4: 09:06:30-09:20:00, 09:20:00-09:21:00
              csat_responses=1, csat_avg=3.0, csat_3=1),
    queue_row(start(9), "support", offered=1, answered=1,  # C4, 90 s > 30 s: out of SL
              service_level=0.0,  # 0 / (1 + 0 - 0)
              asa_s=90.0, avg_wait_s=90.0, max_wait_s=90.0,
              transfers_out=1, ronas=1, channels={"webchat": 1}),
    queue_row(start(10), "sales", offered=1, answered=1, answered_in_sl=1,  # C6, 2 s <= 20 s
              service_level=1.0, asa_s=2.0, avg_wait_s=2.0, max_wait_s=2.0,
              handled=1, aht_s=300.0, talk_s=240.0, wrap_s=60.0,
              csat_responses=1, csat_avg=2.0, csat_2=1, channels={"webchat": 1}),
    queue_row(start(10), "support", offered=1, answered=1, answered_in_sl=1,  # C5, 15 s <= 30 s
              service_level=1.0, asa_s=15.0, avg_wait_s=15.0, max_wait_s=15.0,
              handled=1, aht_s=615.0, talk_s=585.0, wrap_s=30.0,  # 10:00:15-10:10:00, 10:10:00-10:10:30
              conferences=1, declines=1, csat_responses=1, csat_avg=4.0, csat_4=1, channels={"webchat": 1}),
]
QUEUES_BY_DAY = [
    queue_row(start(0), "sales", offered=4, transfers_in=1,  # C2, C3, C4 (transfer), C6
              answered=1, answered_in_sl=1, abandoned=2, short_abandoned=1,
              service_level=0.5,  # 1 / (1 + 2 - 1)
              asa_s=2.0,
              avg_wait_s=21.7,  # (2 + 3 + 60) / 3 = 21.67
              max_wait_s=60.0,
              handled=2, aht_s=585.0, talk_s=525.0, wrap_s=60.0,  # talk (810 + 240) / 2, wrap (60 + 60) / 2
              csat_responses=2, csat_avg=2.5, csat_2=1, csat_3=1,  # (3 + 2) / 2
              channels={"webchat": 3}),
    queue_row(start(0), "support", offered=3, answered=3, answered_in_sl=2,  # C1 8 s, C4 90 s, C5 15 s
              service_level=0.6667,  # 2 / 3
              asa_s=37.7, avg_wait_s=37.7,  # (8 + 90 + 15) / 3 = 37.67
              max_wait_s=90.0,
              handled=2, aht_s=487.5, talk_s=442.5, wrap_s=45.0,  # talk (300 + 585) / 2, wrap (60 + 30) / 2
              transfers_out=1, conferences=1, ronas=1, declines=1,
              csat_responses=2, csat_avg=4.5, csat_4=1, csat_5=1,  # (5 + 4) / 2
              channels={"webchat": 3}),
]
AGENTS_BY_HOUR = [
    # ann 08:00-08:10:08 available 608, busy (C1) 08:10:08-08:16:08 360, available to 09:00 2632
    agent_row(start(8), "ann", offered=1, accepted=1, handled=1, aht_s=360.0, talk_s=300.0, wrap_s=60.0,
              wrap_codes={"resolved": 1}, csat_responses=1, csat_avg=5.0,
              available_s=3240, busy_s=360,  # 608 + 2632
              occupancy=0.1,  # 360 / 3600
              utilisation=1.0),
    # ann 09:00-09:06 Lunch 360, available 30, busy (C4) 09:06:30-09:10 210, available to 09:50 2400, Break 600
    agent_row(start(9), "ann", offered=1, accepted=1,
              available_s=2430, busy_s=210, not_ready_s=960, not_ready_reasons={"Break": 600, "Lunch": 360},
              occupancy=0.0795,  # 210 / (2430 + 210) = 0.07955
              utilisation=0.7333),  # 2640 / 3600
    # bob 09:00-09:05:20 available 320, rona to 09:30 1480, available to 10:00 1800
    agent_row(start(9), "bob", offered=1, ronas=1, available_s=2120, rona_s=1480,
              occupancy=0.0,  # 0 / 2120
              utilisation=0.5889),  # 2120 / 3600 = 0.58889
    # cat 09:00-09:10:10 available 610, busy (C4) 09:10:10-09:21 650, available to 10:00 2340
    agent_row(start(9), "cat", offered=1, accepted=1, handled=1, aht_s=870.0, talk_s=810.0, wrap_s=60.0,
              wrap_codes={"upsell": 1}, csat_responses=1, csat_avg=3.0,
              available_s=2950, busy_s=650,
              occupancy=0.1806,  # 650 / 3600 = 0.18056
              utilisation=1.0),
    # ann 10:00-10:00:05 Break 5, available 10, busy (C5) 10:00:15-10:10:30 615, available to 11:00 2970
    agent_row(start(10), "ann", offered=1, accepted=1, handled=1, aht_s=615.0, talk_s=585.0, wrap_s=30.0,
              wrap_codes={"resolved": 1}, csat_responses=1, csat_avg=4.0,
              available_s=2980, busy_s=615, not_ready_s=5, not_ready_reasons={"Break": 5},
              occupancy=0.1711,  # 615 / 3595 = 0.17107
              utilisation=0.9986),  # 3595 / 3600 = 0.99861
    # bob: offered C5 (declined) and the conference (joined); 10:00-10:05:10 available 310,
    # busy 10:05:10-10:08 170, available to 11:00 3120
    agent_row(start(10), "bob", offered=2, accepted=1, declined=1, available_s=3430, busy_s=170,
              occupancy=0.0472,  # 170 / 3600 = 0.04722
              utilisation=1.0),
    # cat 10:00-10:20:02 available 1202, busy (C6) 10:20:02-10:25:02 300, available to 11:00 2098
    agent_row(start(10), "cat", offered=1, accepted=1, handled=1, aht_s=300.0, talk_s=240.0, wrap_s=60.0,
              wrap_codes={"resolved": 1}, csat_responses=1, csat_avg=2.0,
              available_s=3300, busy_s=300,
              occupancy=0.0833,  # 300 / 3600 = 0.08333
              utilisation=1.0),
]
AGENTS_BY_DAY = [
    agent_row(start(0), "ann", offered=3, accepted=3, handled=2,
              aht_s=487.5, talk_s=442.5, wrap_s=45.0,  # C1 and C5: talk (300 + 585) / 2, wrap (60 + 30) / 2
              wrap_codes={"resolved": 2}, csat_responses=2, csat_avg=4.5,  # (5 + 4) / 2
              available_s=8650,  # 3240 + 2430 + 2980
              busy_s=1185,  # 360 + 210 + 615
              not_ready_s=965, not_ready_reasons={"Break": 605, "Lunch": 360},
              offline_s=75600,  # 00:00-08:00 28800 + 11:00-24:00 46800
              occupancy=0.1205,  # 1185 / 9835 = 0.12049
              utilisation=0.9106),  # 9835 / 10800 = 0.91065
    agent_row(start(0), "bob", offered=3, accepted=1, declined=1, ronas=1,
              available_s=5550,  # 2120 + 3430
              busy_s=170, rona_s=1480,
              offline_s=79200,  # 00:00-09:00 32400 + 11:00-24:00 46800
              occupancy=0.0297,  # 170 / 5720 = 0.02972
              utilisation=0.7944),  # 5720 / 7200 = 0.79444
    agent_row(start(0), "cat", offered=2, accepted=2, handled=2,
              aht_s=585.0, talk_s=525.0, wrap_s=60.0,  # C4 and C6: talk (810 + 240) / 2, wrap (60 + 60) / 2
              wrap_codes={"resolved": 1, "upsell": 1}, csat_responses=2, csat_avg=2.5,  # (3 + 2) / 2
              available_s=6250,  # 2950 + 3300
              busy_s=950,  # 650 + 300
              offline_s=79200,
              occupancy=0.1319,  # 950 / 7200 = 0.13194
              utilisation=1.0),
]
# fmt: on

#: nested figures as CSV columns: (figure, column prefix, column suffix), as the spec flattens them
FLATTENED = {"channels": ("channel_", ""), "wrap_codes": ("wrap_code_", ""), "not_ready_reasons": ("not_ready_", "_s")}


def as_csv(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The expected rows as a spreadsheet reads the CSV: every value text, null empty, nested figures
    flattened, and a flattened column another row has but this one does not 0."""
    flat_rows = []
    for row in rows:
        flat: dict[str, Any] = {}
        for name, value in row.items():
            if name in FLATTENED:
                prefix, suffix = FLATTENED[name]
                flat.update({f"{prefix}{key}{suffix}": count for key, count in value.items()})
            else:
                flat[name] = value
        flat_rows.append(flat)
    columns = {name for flat in flat_rows for name in flat}
    return [{c: "" if flat.get(c, 0) is None else str(flat.get(c, 0)) for c in columns} for flat in flat_rows]


async def reports_of(sb: Any, interval: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    params = {"from": start(0), "to": (datetime.fromisoformat(start(0)) + timedelta(days=1)).isoformat()}
    params |= {"interval": interval, "tz": "Asia/Kolkata"}
    answers = [await sb.http.get(path, params=params) for path in (QUEUES_PATH, AGENTS_PATH)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
    return answers[0].json()["rows"], answers[1].json()["rows"]


async def csv_of(sb: Any, path: str, interval: str) -> list[dict[str, str]]:
    params = {"from": start(0), "to": (datetime.fromisoformat(start(0)) + timedelta(days=1)).isoformat()}
    params |= {"interval": interval, "tz": "Asia/Kolkata"}
    answer = await sb.http.get(path, params=params, headers={"Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


@pytest.fixture
async def played(make_deployment: Any, controlled_clock: None) -> Any:
    # hours pass between two steps in a few milliseconds: the node's own liveness must not lapse
    sb = await make_deployment(node_ttl_s=3 * 86400)
    await play_the_day(sb)
    await sb.archive_caught_up()
    expected = {"hour": (QUEUES_BY_HOUR, AGENTS_BY_HOUR), "day": (QUEUES_BY_DAY, AGENTS_BY_DAY)}
    # until PostgreSQL has every event (the archiver copies them meanwhile); then compared in the tests
    deadline = asyncio.get_running_loop().time() + 20
    while any([await reports_of(sb, interval) != rows for interval, rows in expected.items()]):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    return sb


@pytest.mark.parametrize("interval", ["hour", "day"])
async def test_every_figure_of_the_queue_and_agent_reports_is_the_one_worked_out_by_hand(played, interval):
    queues, agents = await reports_of(played, interval)
    expected_queues, expected_agents = (
        (QUEUES_BY_HOUR, AGENTS_BY_HOUR) if interval == "hour" else (QUEUES_BY_DAY, AGENTS_BY_DAY)
    )
    for got, expected in ((queues, expected_queues), (agents, expected_agents)):
        assert [(r["interval_start"], r.get("queue") or r.get("agent")) for r in got] == [
            (r["interval_start"], r.get("queue") or r.get("agent")) for r in expected
        ]
        differences = {
            (want["interval_start"], want.get("queue") or want.get("agent"), name): (row.get(name), value)
            for row, want in zip(got, expected, strict=True)
            for name, value in want.items()
            if row.get(name) != value
        }
        assert got == expected, f"(interval, queue or agent, figure): (reported, by hand) {differences}"

    # The CSV has the same numbers, as a spreadsheet reads them.
    assert await csv_of(played, QUEUES_PATH, interval) == as_csv(expected_queues)
    assert await csv_of(played, AGENTS_PATH, interval) == as_csv(expected_agents)
