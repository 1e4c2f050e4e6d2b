"""Report intervals in a time zone: 15 minutes, hour, day, week (from Monday), month.

Pure: instants in, interval starts out. An interval starts at a local wall-clock
boundary of the named zone (zoneinfo), so a day is 23 or 25 hours long across a
change of daylight saving time and an hour of a zone with a 30-minute offset starts
at its own half hour. Every zone's offset is a whole number of quarter hours (all
of today's tz database), so every interval is a union of 15-minute buckets aligned
on the epoch, which is what the rollups keep (record/reports.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ErrorCode, SwitchboardError

BUCKET_MS = 15 * 60 * 1000
#: The longest range a report covers.
MAX_RANGE_DAYS = 400


class Interval(StrEnum):
    QUARTER_HOUR = "15m"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def bucket_of(ts_ms: int) -> int:
    """The start (ms since the epoch) of the 15-minute bucket that holds `ts_ms`."""
    return ts_ms - ts_ms % BUCKET_MS


def parse_interval(raw: str | None) -> Interval:
    if raw is None or raw == "":
        return Interval.HOUR
    try:
        return Interval(raw)
    except ValueError:
        raise SwitchboardError(
            ErrorCode.BAD_REQUEST, f"interval must be one of {', '.join(i.value for i in Interval)}"
        ) from None


def parse_zone(raw: str | None) -> ZoneInfo:
    if raw is None or raw == "":
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "tz must be an IANA time zone name, e.g. Europe/Paris") from None


def parse_instant(raw: str | None, name: str) -> datetime:
    """An ISO 8601 date-time with its offset (a bare date means its midnight UTC)."""
    if not raw:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} is required (ISO 8601, e.g. 2026-12-01T00:00:00Z)")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be an ISO 8601 date-time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_range(raw_from: str | None, raw_to: str | None) -> tuple[int, int]:
    """[from, to) in ms since the epoch: to after from, at most MAX_RANGE_DAYS apart."""
    start, end = parse_instant(raw_from, "from"), parse_instant(raw_to, "to")
    if end <= start:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "to must be later than from")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"a report covers at most {MAX_RANGE_DAYS} days")
    return to_ms(start), to_ms(end)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _local(ts_ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)


def _midnight(year: int, month: int, day: int, zone: ZoneInfo) -> datetime:
    # through UTC and back: a midnight that a change of time skips becomes the first instant of the day
    return datetime(year, month, day, tzinfo=zone).astimezone(UTC).astimezone(zone)


def interval_start(ts_ms: int, interval: Interval, zone: ZoneInfo) -> datetime:
    """The start, in `zone`, of the interval that holds the instant `ts_ms`."""
    local = _local(ts_ms, zone)
    if interval is Interval.QUARTER_HOUR:
        return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
    if interval is Interval.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    if interval is Interval.DAY:
        return _midnight(local.year, local.month, local.day, zone)
    if interval is Interval.WEEK:
        monday = local.date() - timedelta(days=local.weekday())
        return _midnight(monday.year, monday.month, monday.day, zone)
    return _midnight(local.year, local.month, 1, zone)


def next_start(start: datetime, interval: Interval, zone: ZoneInfo) -> datetime:
    """The start of the interval after the one that starts at `start`."""
    if interval in (Interval.QUARTER_HOUR, Interval.HOUR):
        # in absolute time: a repeated or skipped wall-clock hour is still one hour long
        step = timedelta(minutes=15 if interval is Interval.QUARTER_HOUR else 60)
        return (start.astimezone(UTC) + step).astimezone(zone)
    if interval is Interval.DAY:
        day = start.date() + timedelta(days=1)
    elif interval is Interval.WEEK:
        day = start.date() + timedelta(days=7)
    else:
        day = (start.date().replace(day=28) + timedelta(days=4)).replace(day=1)
    return _midnight(day.year, day.month, day.day, zone)


def interval_starts(start_ms: int, end_ms: int, interval: Interval, zone: ZoneInfo) -> Iterator[tuple[datetime, int]]:
    """Each interval that meets [start_ms, end_ms): its start in `zone` and its end in ms."""
    start = interval_start(start_ms, interval, zone)
    while to_ms(start) < end_ms:
        following = next_start(start, interval, zone)
        yield start, to_ms(following)
        start = following
