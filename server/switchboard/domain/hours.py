"""A queue's business hours: a weekly schedule in a time zone, with closed dates.

Pure time arithmetic: is the queue open at an instant, and when does it open
next. Times are milliseconds since the epoch, as everywhere on the wire.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_CLOSED_MESSAGE = "We are closed right now. Please come back during our opening hours."

#: How far ahead `next_opening` looks (closed dates can shut whole weeks).
LOOKAHEAD_DAYS = 400

Clock = Annotated[str, msgspec.Meta(max_length=5)]


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class BusinessHours(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """`weekly` maps "mon".."sun" to opening spans `[["08:00", "12:00"], ["13:00", "18:00"]]`
    in local time; a day not listed is closed. A span ends on the same day
    (use "24:00" for midnight; split a night shift over two days)."""

    time_zone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    weekly: Annotated[
        dict[str, Annotated[list[tuple[Clock, Clock]], msgspec.Meta(max_length=12)]], msgspec.Meta(max_length=7)
    ]
    closed_dates: Annotated[list[Annotated[str, msgspec.Meta(pattern=DAY.pattern)]], msgspec.Meta(max_length=366)] = []
    closed_message: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] = DEFAULT_CLOSED_MESSAGE

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.time_zone!r} (use an IANA name such as Europe/Zurich)") from None
        for day, spans in self.weekly.items():
            if day not in WEEKDAYS:
                raise ValueError(f"weekly: {day!r} is not one of {', '.join(WEEKDAYS)}")
            for start, end in spans:
                for clock in (start, end):
                    if not CLOCK.match(clock):
                        raise ValueError(f"weekly.{day}: {clock!r} is not a time HH:MM from 00:00 to 24:00")
                if _minutes(end) <= _minutes(start):
                    raise ValueError(f"weekly.{day}: {start}-{end} must end after it starts, on the same day")
        for day in self.closed_dates:
            try:
                date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"closed_dates: {day!r} is not a date") from None


def _spans_of(hours: BusinessHours, day: date, zone: ZoneInfo) -> list[tuple[int, int]]:
    """The opening spans of one local day, as epoch milliseconds."""
    if day.isoformat() in hours.closed_dates:
        return []
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    spans = []
    for start, end in hours.weekly.get(WEEKDAYS[day.weekday()], []):
        # wall-clock arithmetic: on a DST change day 08:00 is still 08:00 local
        opens = (midnight + timedelta(minutes=_minutes(start))).timestamp()
        closes = (midnight + timedelta(minutes=_minutes(end))).timestamp()
        spans.append((int(opens * 1000), int(closes * 1000)))
    return spans


def open_now(hours: BusinessHours | None, now_ms: int) -> bool:
    """Whether a queue with these business hours (None: always open) is open at `now_ms`."""
    return hours is None or is_open(hours, now_ms)


def is_open(hours: BusinessHours, now_ms: int) -> bool:
    zone = ZoneInfo(hours.time_zone)
    today = datetime.fromtimestamp(now_ms / 1000, zone).date()
    return any(opens <= now_ms < closes for opens, closes in _spans_of(hours, today, zone))


def next_opening(hours: BusinessHours, now_ms: int) -> int | None:
    """When the queue opens next after `now_ms` (now, if it is open); None if never
    within LOOKAHEAD_DAYS."""
    zone = ZoneInfo(hours.time_zone)
    today = datetime.fromtimestamp(now_ms / 1000, zone).date()
    for offset in range(LOOKAHEAD_DAYS):
        for opens, closes in _spans_of(hours, today + timedelta(days=offset), zone):
            if closes > now_ms:
                return max(opens, now_ms)
    return None
