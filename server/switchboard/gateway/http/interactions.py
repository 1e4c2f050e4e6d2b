"""The interactions report: `GET /api/v1/reports/interactions`, the sessions of a range, filtered.

Paged as JSON (`limit`, `cursor`, the answer's `next_cursor`); with `Accept: text/csv`
every session from `cursor` on, as CSV, streamed a page at a time. Each row's
transcript opens with `GET /api/v1/conversations/{conversation_id}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ...domain import search
from ...domain.config import Code
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.intervals import parse_range, parse_zone
from ...domain.parameters import bounded_int
from ...domain.states import Channel, EndReason
from ...record.interactions import InteractionFilter, Interactions
from .common import JSON, services_of
from .openapi import ApiRoute, Operation, Param, QueryId, or_empty
from .reports import csv_lines, repeated_ids, wants_csv
from .stats import supervisor_scope

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class InteractionRow(msgspec.Struct, forbid_unknown_fields=True):
    """One session: a conversation's stay in a queue, from queued to wrapped up."""

    session_id: str
    conversation_id: str
    queue: str
    agents: list[str]
    channel: str
    queued_at: str
    connected_at: str | None
    ended_at: str | None
    wait_s: Annotated[float | None, msgspec.Meta(description="queued to connected, or to the end if unanswered")]
    handle_s: Annotated[float | None, msgspec.Meta(description="connected to wrapped up (or to the end)")]
    end_reason: str | None
    wrap_up_code: str | None
    csat: int | None
    customer_name: str | None


class InteractionPage(msgspec.Struct, forbid_unknown_fields=True):
    """A page of sessions in the order they were queued."""

    rows: list[InteractionRow]
    next_cursor: Annotated[str | None, msgspec.Meta(description="`cursor` of the next page; null on the last")]


def _choice(raw: str | None, name: str, allowed: type[Channel] | type[EndReason]) -> str | None:
    if not raw:
        return None
    if raw not in {member.value for member in allowed}:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} must be one of {', '.join(m.value for m in allowed)}")
    return raw


async def _filter(request: Request) -> InteractionFilter:
    scope = await supervisor_scope(request)
    params = request.query_params
    start_ms, end_ms = parse_range(params.get("from"), params.get("to"))
    queues = repeated_ids(request, "queue")
    if scope is not None and any(q not in scope for q in queues):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
    code = params.get("wrap_up_code") or None
    if code is not None and len(code) > 64:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "wrap_up_code is at most 64 characters")
    q = params.get("q", "").strip() or None
    if q is not None:
        search.query_words(q)  # the rules of conversation search for what a query must hold
    csat = bounded_int(params.get("csat"), "csat", 0, 1, 5)
    return InteractionFilter(
        start_ms,
        end_ms,
        queues=frozenset(queues) if queues else scope,
        agents=repeated_ids(request, "agent"),
        wrap_up_code=code,
        csat=csat or None,
        channel=_choice(params.get("channel"), "channel", Channel),
        end_reason=_choice(params.get("end_reason"), "end_reason", EndReason),
        q=q,
    )


def _shown(row: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """The row's times in the caller's zone, as ISO 8601 with the offset."""
    times = {name: row[name] for name in ("queued_at", "connected_at", "ended_at")}
    return row | {name: None if t is None else t.astimezone(zone).isoformat() for name, t in times.items()}


async def interactions_report(request: Request) -> Response:
    only = await _filter(request)
    params = request.query_params
    zone = parse_zone(params.get("tz"))
    cursor = search.decode_cursor(params["cursor"]) if params.get("cursor") else None
    limit = bounded_int(params.get("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    sessions = Interactions(services_of(request).database)
    if wants_csv(request):
        return StreamingResponse(
            _csv(sessions, only, cursor, zone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="interactions-report.csv"'},
        )
    rows, position = await sessions.page(only, limit, cursor)
    return JSON(
        {
            "rows": [_shown(row, zone) for row in rows],
            "next_cursor": search.encode_cursor(position) if position else None,
        }
    )


async def _csv(
    sessions: Interactions, only: InteractionFilter, cursor: search.Position | None, zone: ZoneInfo
) -> AsyncIterator[str]:
    """Every session from `cursor` on, a page at a time; the agents of a row separated by spaces."""
    columns = list(InteractionRow.__struct_fields__)
    header = True
    while True:
        rows, cursor = await sessions.page(only, MAX_LIMIT, cursor)
        shown = [_shown(row, zone) | {"agents": " ".join(row["agents"])} for row in rows]
        for number, line in enumerate(csv_lines(shown, columns)):
            if number or header:
                yield line
        header = False
        if cursor is None:
            return


routes = [
    ApiRoute(
        "/api/v1/reports/interactions",
        interactions_report,
        "GET",
        Operation(
            "List the sessions of a range (the interactions report)",
            {200: InteractionPage},
            params=[
                Param("from", datetime, "sessions queued from (ISO 8601 with its offset), included"),
                Param("to", datetime, "sessions queued before, excluded: after from, at most 400 days later"),
                Param("tz", str, "an IANA time zone name (default UTC) the times are shown in"),
                Param("queue", QueryId, "only this queue (repeatable)"),
                Param("agent", QueryId, "only sessions this agent served (repeatable)"),
                Param("wrap_up_code", Code, "only sessions wrapped up with this code"),
                Param("csat", Annotated[int, msgspec.Meta(ge=1, le=5)], "only sessions the customer rated so"),
                Param("channel", Annotated[str, msgspec.Meta(pattern=or_empty("|".join(Channel)))], "the channel"),
                Param("end_reason", str, "only sessions that ended so (customer_abandoned, agent_ended, ...)"),
                Param("q", Annotated[str, msgspec.Meta(max_length=search.QUERY_LIMIT)], "the customer's words"),
                Param("cursor", str, "the `next_cursor` of the previous page"),
                Param(
                    "limit", Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)], f"rows a page (default {DEFAULT_LIMIT})"
                ),
            ],
            errors={
                400: "a bad parameter: from or to missing or not ISO 8601, to not after from, over 400 days,"
                " an unknown channel, end reason or time zone, csat not 1 to 5, a bad cursor or limit",
                403: "an agent that is not a supervisor, or a queue outside the supervisor's queues",
            },
            access="admin_or_supervisor",
            alternatives={"text/csv": "`Accept: text/csv`: every session from `cursor` on as CSV, streamed"},
        ),
    )
]
