"""Lifecycle events: `/api/v1/events` pages through them, `/api/v1/events/stream` follows them live.

The stream sends each event as Server-Sent Events: `id: <stream id>`,
`event: <type>`, `data: <JSON>`. A client that reconnects sends the last id it
got as `Last-Event-ID` (or `after` in the query) and gets everything after it,
from the stream itself, so nothing is lost between two connections. A comment
line every keepalive interval keeps proxies from closing an idle stream and
lets the server notice a client that went away.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.parameters import bounded_int
from ...domain.records import stream_position
from ...domain.states import LifecycleEvent
from .common import JSON, STREAM_ID, event_id, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Body, Operation, Param, or_empty

if TYPE_CHECKING:
    from ..services import Services

MAX_LIMIT = 1000
EventId = Annotated[
    str,
    msgspec.Meta(pattern=STREAM_ID.pattern, description="an event id such as 1700000000000-0; each part below 2**63"),
]


class Event(msgspec.Struct):
    """A lifecycle event; the fields beyond these depend on its type (docs/protocol.md)."""

    id: EventId
    type: LifecycleEvent
    #: when it happened, in ms since the epoch
    ts: int


class EventPage(msgspec.Struct, forbid_unknown_fields=True):
    """Events after `after`, oldest first."""

    events: list[Event]
    next: Annotated[
        str | None,
        msgspec.Meta(description="the last event's id, to send back as `after`; `after` itself when none came"),
    ]


@requires_admin
async def list_events(request: Request) -> Response:
    after = event_id(request.query_params.get("after") or "", "after") or None
    limit = bounded_int(request.query_params.get("limit"), "limit", 100, 1, MAX_LIMIT)
    return JSON(await page_of_events(services_of(request), after, limit))


async def page_of_events(services: Services, after: str | None, limit: int) -> dict[str, Any]:
    """A page of events after `after`: those that left Redis' stream come from PostgreSQL."""
    # every event before the oldest one Redis' stream holds (all of them when it holds none)
    oldest = await services.directory.first_event_id() or END_OF_STREAM
    archived: list[dict[str, Any]] = []
    if after is None or stream_position(after) < stream_position(oldest):
        archived = await services.record.events(after, oldest, limit)
    if len(archived) == limit:
        return {"events": archived, "next": archived[-1]["id"]}
    live = await services.directory.events(archived[-1]["id"] if archived else after, limit - len(archived))
    events = archived + live["events"]
    return {"events": events, "next": events[-1]["id"] if events else after}


EVENT_TYPES = frozenset(e.value for e in LifecycleEvent)
#: A stream id after every other (PostgreSQL's ids are bigints).
END_OF_STREAM = f"{2**63 - 1}-0"


def _frame(position: str, event: dict[str, Any]) -> bytes:
    event["id"] = position
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"id: {position}\nevent: {event.get('type', 'message')}\ndata: {data}\n\n".encode()


async def _events(services: Services, after: str, types: frozenset[str] | None) -> AsyncIterator[bytes]:
    block_ms = int(services.settings.event_stream_keepalive_s * 1000)
    services.local.event_streams += 1
    try:
        yield b"retry: 2000\n\n"
        # A client resuming from before what Redis' stream still holds gets the rest from PostgreSQL.
        while stream_position(after) < stream_position(
            oldest := await services.directory.first_event_id() or END_OF_STREAM
        ):
            archived = await services.record.events(after, oldest, 500)
            if not archived:
                break
            after = archived[-1]["id"]
            chunk = [_frame(e.pop("id"), e) for e in archived if types is None or e.get("type") in types]
            if chunk:
                yield b"".join(chunk)
        # Starlette ends this generator when the client goes away (at the latest
        # at the next keepalive, when the write fails).
        while True:
            try:
                batch = await services.directory.follow_events(after, block_ms)
            except SwitchboardError:
                return  # the store is away: the client reconnects with its Last-Event-ID
            if not batch:
                yield b": keepalive\n\n"
                continue
            chunk = []
            for position, raw in batch:
                after = position
                event = json.loads(raw)
                if types is None or event.get("type") in types:
                    chunk.append(_frame(position, event))
            if chunk:
                yield b"".join(chunk)
    finally:
        services.local.event_streams -= 1


@requires_admin
async def stream_events(request: Request) -> Response:
    services = services_of(request)
    after = event_id(
        request.headers.get("last-event-id") or request.query_params.get("after") or "", "Last-Event-ID / after"
    )
    types = None
    if request.query_params.get("types"):
        types = frozenset(t.strip() for t in request.query_params["types"].split(",") if t.strip())
        unknown = sorted(types - EVENT_TYPES)
        if unknown:
            raise SwitchboardError(ErrorCode.BAD_REQUEST, f"unknown event types: {', '.join(unknown)}")
    if services.local.event_streams >= services.settings.event_stream_clients:
        raise SwitchboardError(ErrorCode.UNAVAILABLE, "too many event streams on this node; retry later")
    # Without a position, the stream starts at the newest event: only what happens next.
    start = after or await services.directory.last_event_id()
    return StreamingResponse(
        _events(services, start, types),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


AFTER = Param(
    "after",
    Annotated[str, msgspec.Meta(pattern=or_empty(STREAM_ID.pattern), description="an event id; empty: as if absent")],
    "only events after this one (exclusive)",
)

routes = [
    ApiRoute(
        "/api/v1/events",
        list_events,
        "GET",
        Operation(
            "Page through the lifecycle events",
            {200: EventPage},
            params=[AFTER, Param("limit", Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)], "events a page")],
            errors={400: "a bad parameter"},
        ),
    ),
    ApiRoute(
        "/api/v1/events/stream",
        stream_events,
        "GET",
        Operation(
            "Follow the lifecycle events live",
            {200: Body("text/event-stream", str, "Server-Sent Events: `id`, `event` (the type), `data` (the event)")},
            params=[
                AFTER,
                Param("Last-Event-ID", EventId, "as `after`, sent by a browser that reconnects", "header"),
                Param("types", str, "only these types, comma-separated"),
            ],
            errors={400: "a bad parameter or an unknown type", 503: "the node serves as many streams as it may"},
        ),
    ),
]
