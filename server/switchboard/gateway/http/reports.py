"""Historical reports: `GET /api/v1/reports/queues` and `/api/v1/reports/agents`, as JSON or CSV.

One row per interval (in the caller's time zone) and queue or agent that had
activity, with the figures of domain/reporting.py (docs/reports.md defines each).
`Accept: text/csv` answers the same rows as CSV, written row by row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ...domain import reporting
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.intervals import Interval, interval_starts, parse_interval, parse_range, parse_zone, to_ms
from ...store.clock import now_ms
from .common import JSON, services_of
from .openapi import ApiRoute, Operation, Param, QueryId
from .stats import supervisor_scope

#: Nested figures, flattened in CSV: (figure, column prefix, column suffix).
_FLATTENED = {"channels": ("channel_", ""), "wrap_codes": ("wrap_code_", ""), "not_ready_reasons": ("not_ready_", "_s")}


class QueueReportRow(msgspec.Struct, forbid_unknown_fields=True):
    """A queue's figures over one interval (docs/reports.md)."""

    interval_start: str
    queue: str
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_in_sl: int
    service_level: float | None
    asa_s: float | None
    avg_wait_s: float | None
    max_wait_s: float | None
    handled: int
    aht_s: float | None
    talk_s: float | None
    wrap_s: float | None
    transfers_in: int
    transfers_out: int
    conferences: int
    ronas: int
    declines: int
    bot_contained: int
    handed_off: int
    csat_responses: int
    csat_avg: float | None
    csat_1: int
    csat_2: int
    csat_3: int
    csat_4: int
    csat_5: int
    channels: dict[str, int]


class AgentReportRow(msgspec.Struct, forbid_unknown_fields=True):
    """An agent's figures over one interval (docs/reports.md)."""

    interval_start: str
    agent: str
    offered: int
    accepted: int
    declined: int
    ronas: int
    handled: int
    aht_s: float | None
    talk_s: float | None
    wrap_s: float | None
    wrap_codes: dict[str, int]
    csat_responses: int
    csat_avg: float | None
    available_s: int
    busy_s: int
    not_ready_s: int
    rona_s: int
    offline_s: int
    not_ready_reasons: dict[str, int]
    occupancy: float | None
    utilisation: float | None


class QueueReport(msgspec.Struct, forbid_unknown_fields=True):
    """The queue report: one row per interval and queue with activity."""

    rows: list[QueueReportRow]


class AgentReport(msgspec.Struct, forbid_unknown_fields=True):
    """The agent report: one row per interval and agent with activity or time signed in."""

    rows: list[AgentReportRow]


def repeated_ids(request: Request, name: str) -> list[str]:
    """The values of a repeatable query parameter (`queue=a&queue=b`), each checked as an id."""
    return [check_id(name, value) for value in request.query_params.getlist(name) if value]


def wants_csv(request: Request) -> bool:
    """Whether the caller asked for CSV before JSON (`Accept: text/csv`)."""
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept.split(",")[0]


def _cell(value: Any) -> Any:
    # A spreadsheet takes a text that starts with = + - @ for a formula: it stays text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in row.items():
        if name in _FLATTENED:
            prefix, suffix = _FLATTENED[name]
            flat.update({f"{prefix}{key}{suffix}": count for key, count in value.items()})
        else:
            flat[name] = value
    return flat


def csv_lines(rows: Sequence[Mapping[str, Any]], fixed: Sequence[str]) -> Iterator[str]:
    """The rows as CSV, a line at a time: the fixed columns, then every flattened column some row has."""
    extra = sorted({name for row in rows for name in _flat(row)} - set(fixed))
    columns = [*fixed, *extra]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def line(values: Sequence[Any]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([_cell(v) for v in values])
        return out.getvalue()

    yield line(columns)
    for row in rows:
        flat = _flat(row)
        yield line([flat.get(c, 0 if c in extra else None) for c in columns])


async def _report(request: Request, kind: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of the queue or agent report the request asks for, and the CSV's fixed columns."""
    s = services_of(request)
    scope = await supervisor_scope(request)
    params = request.query_params
    start_ms, end_ms = parse_range(params.get("from"), params.get("to"))
    interval: Interval = parse_interval(params.get("interval"))
    zone = parse_zone(params.get("tz"))
    queues, agents = repeated_ids(request, "queue"), repeated_ids(request, "agent")
    if scope is not None and any(q not in scope for q in queues):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
    snapshot = await s.figures.snapshot()
    rules = {q.id: q.rules for q in snapshot.queues}
    intervals = list(interval_starts(start_ms, end_ms, interval, zone))
    boundaries = [to_ms(begins) for begins, _ in intervals] + [intervals[-1][1]]
    reports = s.reports
    if kind == "queue":
        only: set[str] | None = set(queues) if queues else (set(scope) if scope is not None else None)
        counters: dict[tuple[int, str], Any] = (
            await reports.counters(start_ms, end_ms, boundaries, rules, now_ms(), queues=only, agents=())
        ).queues
        figures: Callable[[Any], dict[str, Any]] = reporting.queue_figures
        fixed = [f for f in QueueReportRow.__struct_fields__ if f not in _FLATTENED]
    else:
        members = {a.id for a in snapshot.agents if scope is None or set(a.queues) & scope}
        if scope is not None and any(a not in members for a in agents):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "the agent is not a member of your queues")
        if queues:  # the agents of those queues
            members = {a.id for a in snapshot.agents if a.id in members and set(a.queues) & set(queues)}
        wanted: set[str] | None = set(agents) if agents else (members if scope is not None or queues else None)
        counters = (
            await reports.counters(start_ms, end_ms, boundaries, rules, now_ms(), queues=(), agents=wanted)
        ).agents
        for (number, _agent), c in counters.items():
            elapsed_until = min(boundaries[number], end_ms, now_ms())
            reporting.with_offline_time(c, max(0, elapsed_until - max(boundaries[number - 1], start_ms)))
        figures = reporting.agent_figures
        fixed = [f for f in AgentReportRow.__struct_fields__ if f not in _FLATTENED]
    rows = [
        {"interval_start": intervals[number - 1][0].isoformat(), kind: key, **figures(c)}
        for (number, key), c in sorted(counters.items())
    ]
    return rows, fixed


async def _answer(request: Request, kind: str) -> Response:
    rows, fixed = await _report(request, kind)
    if wants_csv(request):
        return StreamingResponse(
            csv_lines(rows, fixed),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}-report.csv"'},
        )
    # the rows are built as mappings; encoded as they are, described by the struct
    return JSON({"rows": rows})


async def queue_report(request: Request) -> Response:
    return await _answer(request, "queue")


async def agent_report(request: Request) -> Response:
    return await _answer(request, "agent")


_PARAMS = [
    Param("from", datetime, "the range's start (ISO 8601 with its offset), included"),
    Param("to", datetime, "the range's end, excluded: after from, at most 400 days later"),
    Param("interval", Annotated[str, msgspec.Meta(pattern="^(15m|hour|day|week|month)?$")], "default hour"),
    Param("tz", str, "an IANA time zone name (default UTC): intervals start at its local boundaries"),
    Param("queue", QueryId, "only this queue (repeatable)"),
    Param("agent", QueryId, "only this agent (repeatable)"),
]
_ERRORS = {
    400: "a bad parameter: from or to missing or not ISO 8601, to not after from, over 400 days, an unknown interval"
    " or time zone",
    403: "an agent that is not a supervisor, or a queue or agent outside the supervisor's queues",
}
_CSV = "`Accept: text/csv`: the same rows as CSV (nested figures flattened), streamed"


def _route(path: str, handler: Any, summary: str, answer: type) -> ApiRoute:
    return ApiRoute(
        path,
        handler,
        "GET",
        Operation(
            summary,
            {200: answer},
            params=_PARAMS,
            errors=_ERRORS,
            access="admin_or_supervisor",
            alternatives={"text/csv": _CSV},
        ),
    )


routes = [
    _route("/api/v1/reports/queues", queue_report, "Report the queues' figures by interval", QueueReport),
    _route("/api/v1/reports/agents", agent_report, "Report the agents' figures by interval", AgentReport),
]
