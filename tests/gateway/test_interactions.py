"""The interactions report: the sessions of a range from real PostgreSQL through a real node, filtered and paged.

The server's clock is set (store/clock.py), so every wait and handle time is known to the second.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from support import eventually
from switchboard.store import clock

PATH = "/api/v1/reports/interactions"
T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
DAY = {"from": "2026-12-03T00:00:00Z", "to": "2026-12-04T00:00:00Z"}


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    clock.set_clock(int(T0.timestamp() * 1000))
    yield
    clock.reset_clock()


async def two_sessions(sb: Any) -> tuple[str, str]:
    """At 10:00 Bob asks support about his parcel; alice answers after 20 s, Bob ends 100 s later and rates 5,
    alice wraps up `resolved` 30 s after. At 10:03:20 a customer asks sales for a discount and leaves after 40 s
    with nobody there."""
    await sb.queue("sales")
    alice = await sb.available_agent("alice")
    bob, first = await sb.chat(text="Where is my parcel?", customer={"name": "Bob"})
    offer = await alice.expect("offer")
    clock.advance_clock(20_000)
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await bob.expect("chat.connected")
    clock.advance_clock(100_000)
    await bob.ok({"type": "end_chat"})
    await bob.expect("csat.requested")
    await bob.ok({"type": "csat", "rating": 5})
    clock.advance_clock(30_000)
    await alice.ok({"type": "wrap_up", "conversation_id": first["conversation_id"], "code": "resolved"})
    await alice.expect("conversation.closed", conversation_id=first["conversation_id"])
    clock.advance_clock(50_000)
    leaving, second = await sb.chat("sales", text="Any discount?")
    await leaving.expect("chat.queued")
    clock.advance_clock(40_000)
    await leaving.ok({"type": "end_chat"})
    return first["session_id"], second["session_id"]


async def rows_of(sb: Any, http: httpx.AsyncClient | None = None, **params: Any) -> list[dict[str, Any]]:
    answer = await (http or sb.http).get(PATH, params={**DAY, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


async def recorded(sb: Any) -> list[dict[str, Any]]:
    """Once PostgreSQL has both sessions to their end."""

    async def both() -> list[dict[str, Any]] | None:
        rows = await rows_of(sb)
        done = len(rows) == 2 and rows[0]["wrap_up_code"] and rows[0]["csat"] and rows[1]["ended_at"]
        return rows if done else None

    found: list[dict[str, Any]] = await eventually(both, timeout=15)
    return found


async def test_each_session_is_a_row_with_its_times_outcome_and_customer(sb, frozen_clock):
    served, abandoned = await two_sessions(sb)
    first, second = await recorded(sb)
    assert first == {
        "session_id": served,
        "conversation_id": first["conversation_id"],
        "queue": "support",
        "agents": ["alice"],
        "channel": "webchat",
        "queued_at": "2026-12-03T10:00:00+00:00",
        "connected_at": "2026-12-03T10:00:20+00:00",
        "ended_at": "2026-12-03T10:02:00+00:00",
        "wait_s": 20.0,
        "handle_s": 130.0,  # 100 s talking + 30 s wrapping up
        "end_reason": "customer_ended",
        "wrap_up_code": "resolved",
        "csat": 5,
        "customer_name": "Bob",
    }
    assert second["session_id"] == abandoned and second["queue"] == "sales" and second["agents"] == []
    assert (second["queued_at"], second["connected_at"], second["ended_at"]) == (
        "2026-12-03T10:03:20+00:00",
        None,
        "2026-12-03T10:04:00+00:00",
    )
    assert (second["wait_s"], second["handle_s"], second["end_reason"]) == (40.0, None, "customer_abandoned")
    # the transcript opens with the conversation endpoints
    transcript = await sb.admin("GET", f"/api/v1/conversations/{first['conversation_id']}")
    assert transcript["conversation_id"] == first["conversation_id"]

    paris = await rows_of(sb, tz="Europe/Paris")
    assert paris[0]["queued_at"] == "2026-12-03T11:00:00+01:00"
    assert await rows_of(sb, **{"from": "2026-12-03T10:01:00Z"}) == [second]


async def test_filters_narrow_the_sessions(sb, frozen_clock):
    served, abandoned = await two_sessions(sb)
    await recorded(sb)
    for params, expected in [
        ({"queue": "sales"}, [abandoned]),
        ({"queue": ["sales", "support"]}, [served, abandoned]),
        ({"agent": "alice"}, [served]),
        ({"wrap_up_code": "resolved"}, [served]),
        ({"csat": "5"}, [served]),
        ({"csat": "4"}, []),
        ({"end_reason": "customer_abandoned"}, [abandoned]),
        ({"channel": "webchat"}, [served, abandoned]),
        ({"channel": "messaging"}, []),
        ({"q": "parcel"}, [served]),
        ({"q": "discount"}, [abandoned]),
        ({"q": "parcel", "queue": "sales"}, []),
        ({"queue": "", "q": "", "csat": ""}, [served, abandoned]),  # an empty field counts as absent
    ]:
        assert [r["session_id"] for r in await rows_of(sb, **params)] == expected, params


async def test_pages_follow_each_other_and_csv_has_every_row(sb, frozen_clock):
    served, abandoned = await two_sessions(sb)
    rows = await recorded(sb)
    page = (await sb.http.get(PATH, params={**DAY, "limit": "1"})).json()
    assert [r["session_id"] for r in page["rows"]] == [served] and page["next_cursor"]
    rest = (await sb.http.get(PATH, params={**DAY, "limit": "1", "cursor": page["next_cursor"]})).json()
    assert [r["session_id"] for r in rest["rows"]] == [abandoned] and rest["next_cursor"] is None

    answer = await sb.http.get(PATH, params=DAY, headers={"Accept": "text/csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(answer.text)))
    assert [line["session_id"] for line in lines] == [served, abandoned]
    assert (lines[0]["agents"], lines[0]["wait_s"], lines[0]["handle_s"], lines[0]["csat"]) == (
        "alice",
        "20.0",
        "130.0",
        "5",
    )
    assert (lines[1]["agents"], lines[1]["handle_s"], lines[1]["queued_at"]) == ("", "", rows[1]["queued_at"])


async def test_a_supervisor_lists_its_queues_only_an_agent_nothing(sb, frozen_clock):
    _, abandoned = await two_sessions(sb)
    await recorded(sb)
    sam = await sb.agent("sam", queues=["sales"], role="supervisor")
    alice = (await sb.admin("POST", "/api/v1/agents/alice/token"))["token"]
    async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {sam}"}) as http:
        assert [r["session_id"] for r in await rows_of(sb, http)] == [abandoned]
        assert (await http.get(PATH, params={**DAY, "queue": "support"})).status_code == 403
    async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {alice}"}) as http:
        assert (await http.get(PATH, params=DAY)).status_code == 403
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        assert (await anonymous.get(PATH, params=DAY)).status_code == 401


async def test_bad_parameters_are_refused_with_a_clear_message(sb):
    for params, words in [
        ({}, "from is required"),
        ({**DAY, "to": DAY["from"]}, "later than from"),
        ({**DAY, "csat": "6"}, "csat must be between 1 and 5"),
        ({**DAY, "channel": "fax"}, "channel must be one of"),
        ({**DAY, "end_reason": "bored"}, "end_reason must be one of"),
        ({**DAY, "cursor": "nope"}, "cursor"),
        ({**DAY, "limit": "501"}, "limit must be between 1 and 500"),
        ({**DAY, "q": "!"}, "q must hold a word"),
        ({**DAY, "tz": "Mars/Olympus"}, "IANA"),
        ({**DAY, "wrap_up_code": "x" * 65}, "wrap_up_code"),
        ({**DAY, "agent": "no spaces"}, "agent"),
    ]:
        answer = await sb.http.get(PATH, params=params)
        assert answer.status_code == 400 and words in answer.json()["error"]["message"], (params, answer.text)
