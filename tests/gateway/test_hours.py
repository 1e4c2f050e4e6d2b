"""Business hours of a queue: the pure schedule, and what customers get outside it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from switchboard.domain.config import QueueConfig, decode_config
from switchboard.domain.errors import SwitchboardError
from switchboard.domain.hours import WEEKDAYS, BusinessHours, is_open, next_opening

ZURICH = ZoneInfo("Europe/Zurich")
OFFICE = BusinessHours(
    time_zone="Europe/Zurich",
    weekly={"mon": [("08:00", "12:00"), ("13:00", "18:00")], "tue": [("08:00", "18:00")], "sat": [("09:00", "24:00")]},
    closed_dates=["2026-12-29"],
)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=ZURICH).timestamp() * 1000)


@pytest.mark.parametrize(
    "when, open_",
    [
        ((2026, 11, 23, 7, 59), False),  # Monday, before opening
        ((2026, 11, 23, 8, 0), True),
        ((2026, 11, 23, 12, 30), False),  # lunch
        ((2026, 11, 23, 17, 59), True),
        ((2026, 11, 23, 18, 0), False),  # a span ends before its end minute
        ((2026, 11, 25, 10, 0), False),  # Wednesday: not listed, closed
        ((2026, 11, 28, 23, 59), True),  # Saturday until midnight
        ((2026, 12, 29, 10, 0), False),  # a Tuesday, but a closed date
    ],
)
def test_is_open_follows_the_weekly_schedule_in_the_queue_time_zone(when, open_):
    assert is_open(OFFICE, ms(*when)) is open_


def test_next_opening_skips_lunch_closed_days_and_closed_dates():
    assert next_opening(OFFICE, ms(2026, 11, 23, 12, 30)) == ms(2026, 11, 23, 13, 0)
    assert next_opening(OFFICE, ms(2026, 11, 25, 10, 0)) == ms(2026, 11, 28, 9, 0)  # Wed -> Sat
    assert next_opening(OFFICE, ms(2026, 12, 28, 19, 0)) == ms(2027, 1, 2, 9, 0)  # the Tuesday is closed
    now = ms(2026, 11, 24, 9, 0)
    assert next_opening(OFFICE, now) == now  # open now: now


def test_opening_hours_are_wall_clock_across_a_daylight_saving_change():
    hours = BusinessHours(time_zone="Europe/Zurich", weekly={"sun": [("08:00", "09:00")]})
    # 2027-03-28: clocks go forward at 02:00; 08:00 local is then UTC+2
    opens = next_opening(hours, ms(2027, 3, 27, 12, 0))
    assert datetime.fromtimestamp(opens / 1000, ZURICH).strftime("%Y-%m-%d %H:%M %z") == "2027-03-28 08:00 +0200"


def test_a_schedule_with_no_opening_never_opens():
    assert next_opening(BusinessHours(time_zone="UTC", weekly={}), ms(2026, 11, 23, 8, 0)) is None


@pytest.mark.parametrize(
    "hours, fragment",
    [
        ({"time_zone": "Mars/Olympus", "weekly": {}}, "unknown time zone"),
        ({"time_zone": "UTC", "weekly": {"monday": [["08:00", "09:00"]]}}, "not one of"),
        ({"time_zone": "UTC", "weekly": {"mon": [["18:00", "08:00"]]}}, "must end after it starts"),
        ({"time_zone": "UTC", "weekly": {"mon": [["8:00", "09:00"]]}}, "is not a time HH:MM"),
        ({"time_zone": "UTC", "weekly": {}, "closed_dates": ["2026-02-30"]}, "not a date"),
    ],
)
def test_bad_business_hours_are_refused_with_the_reason(hours, fragment):
    with pytest.raises(SwitchboardError) as exc:
        decode_config(msgspec.json.encode({"name": "Q", "business_hours": hours}), QueueConfig)
    assert exc.value.code == "bad_request" and fragment in exc.value.message


# ---------------------------------------------------------------- over sockets


def closed_today() -> dict:
    """Open only on a weekday that is not today (in UTC), all day."""
    today = datetime.now(ZoneInfo("UTC")).weekday()
    other = WEEKDAYS[(today + 3) % 7]
    return {
        "time_zone": "UTC",
        "weekly": {other: [["00:00", "24:00"]]},
        "closed_message": "We are closed. Our team is back on " + other + ".",
    }


async def test_outside_business_hours_a_webchat_is_refused_with_the_queue_message(sb):
    await sb.queue("support", business_hours=closed_today())
    await sb.available_agent("alice")
    customer, _ = await sb.customer()
    refused = await customer.request({"type": "start_chat", "queue": "support", "text": "hello?"})
    assert refused["type"] == "error" and refused["code"] == "unavailable"
    assert refused["message"].startswith("We are closed. Our team is back on")


async def test_outside_business_hours_a_messaging_conversation_is_kept_for_the_opening(sb):
    hours = closed_today()
    await sb.queue("support", business_hours=hours)
    alice = await sb.available_agent("alice")
    customer, _ = await sb.customer()
    ack = await customer.ok({"type": "start_chat", "queue": "support", "channel": "messaging", "text": "call me back"})
    opens = datetime.fromtimestamp(ack["opens_at"] / 1000, ZoneInfo("UTC"))
    assert opens > datetime.now(ZoneInfo("UTC")) and opens.strftime("%H:%M") == "00:00"
    assert opens - datetime.now(ZoneInfo("UTC")) < timedelta(days=7)
    notice = await customer.expect("message", text=hours["closed_message"])
    assert notice["from"] == {"role": "system"}
    queued = await customer.expect("chat.queued")
    assert queued["opens_at"] == ack["opens_at"]
    detail = await sb.admin("GET", f"/api/v1/conversations/{ack['conversation_id']}")
    assert detail["card"]["status"] == "waiting"
    assert "call me back" in [m["text"] for m in detail["messages"]]
    # an available agent is not offered it before the opening
    await alice.ok({"type": "set_state", "state": "not_ready"})
    await alice.ok({"type": "set_state", "state": "available"})
    assert alice.received("offer") == []


async def test_within_business_hours_chats_route_as_usual(sb):
    await sb.queue(
        "support",
        business_hours={"time_zone": "Pacific/Auckland", "weekly": {d: [["00:00", "24:00"]] for d in WEEKDAYS}},
    )
    alice = await sb.available_agent("alice")
    _, started = await sb.chat()
    assert "opens_at" not in started
    await alice.expect("offer", conversation_id=started["conversation_id"])


async def test_an_invitation_to_a_queue_that_has_closed_since_is_refused_with_its_message(sb):
    await sb.queue("sales")
    customer, welcome = await sb.customer()
    sent = await sb.admin(
        "POST",
        f"/api/v1/visitors/{welcome['visitor_id']}/invite",
        {"queue": "sales", "text": "Can we help?"},
        expect=201,
    )
    await customer.expect("invite", invite_id=sent["invite_id"])
    await sb.queue("sales", business_hours=closed_today())  # the queue closes meanwhile
    refused = await customer.request({"type": "accept_invite", "invite_id": sent["invite_id"]})
    assert refused["type"] == "error" and refused["code"] == "unavailable"
    assert refused["message"].startswith("We are closed.")
    # nothing was opened: the customer can still start a chat in an open queue
    assert (await customer.ok({"type": "start_chat", "queue": "support"}))["conversation_id"]
