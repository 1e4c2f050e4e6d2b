"""Conversations: `/api/v1/conversations`, search and the whole history of one."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain import search
from ...domain.accounts import supervised
from ...domain.cards import build_card
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.frames.outgoing import Card, HistoryEvent, Message, NoteAdded
from ...domain.parameters import bounded_int
from ...domain.states import SessionStatus
from ...store.clock import now_ms
from ..attachment_urls import signed_afresh
from .common import JSON, found, path_id, services_of
from .guards import requires_admin, requires_admin_or_agent
from .openapi import ApiRoute, Operation, Param, QueryId
from .principals import actor

MAX_SEQ = 2**31 - 1


class ConversationPage(msgspec.Struct, forbid_unknown_fields=True):
    """A page of conversations, newest activity first: the card of each one's latest session."""

    conversations: list[Card]
    next: Annotated[str | None, msgspec.Meta(description="`cursor` of the next page; null on the last")]


class ConversationHistory(msgspec.Struct):
    """A conversation's sessions (their cards, oldest first) and its history."""

    conversation_id: str
    sessions: list[Card]
    messages: list[Message]
    notes: list[NoteAdded]
    #: history events that are neither messages nor notes
    events: list[HistoryEvent]


class Conversation(ConversationHistory, forbid_unknown_fields=True, kw_only=True):
    """The whole conversation: its current (latest) session's card, its sessions and its history."""

    card: Card


@requires_admin_or_agent
async def get_conversation(request: Request) -> Response:
    """The whole conversation. An agent reads only one it took part in; a supervisor also
    those with a session in a queue it supervises."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    aid = request.state.agent
    supervising = None  # the queues that let a supervisor read it
    if aid is not None and not await s.directory.took_part(aid, cid):
        supervising = supervised(await s.directory.agent_profile(aid) or {})
        if not supervising:
            raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
    conversation = await s.directory.conversation(cid)
    if conversation is None:  # it left Redis after the live window: PostgreSQL keeps it
        conversation = await s.record.conversation(cid, now_ms())
    conversation = found(conversation, "no such conversation")
    if supervising is not None and not any(card["queue"]["id"] in supervising for card in conversation["sessions"]):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
    signed_afresh(s.settings, conversation["messages"])
    return JSON(conversation)


@requires_admin_or_agent
async def list_conversations(request: Request) -> Response:
    """Search, in PostgreSQL (full text in each conversation's language). With an
    agent's token, among the conversations that agent took part in (a supervisor's:
    and those of the queues it supervises). The cards are
    the live ones while the conversation is in Redis, else as PostgreSQL keeps them."""
    params = request.query_params
    # An empty parameter counts as absent, as a search form sends them.
    q = params.get("q", "")
    if q.strip():
        search.query_words(q)  # the same rules as ever for what a query must hold
    state = search.parse_state(params["state"]) if params.get("state") else None
    queue = check_id("queue", params["queue"]) if params.get("queue") else None
    cursor = search.decode_cursor(params["cursor"]) if params.get("cursor") else None
    limit = search.parse_limit(params.get("limit"))
    s = services_of(request)
    among = supervising = None
    if request.state.agent is not None:
        among = await s.directory.agent_conversation_ids(request.state.agent)
        supervising = sorted(supervised(await s.directory.agent_profile(request.state.agent) or {}))
    found, position = await s.search.page(
        q.strip() or None, state, queue, limit, cursor, among=among, or_in_queues=supervising
    )
    now = now_ms()
    live = {
        card["session_id"]: card for card in await s.router.session_cards([f.session_id for f in found if f.session_id])
    }
    cards = []
    for entry in found:
        card = live.get(entry.session_id or "") or (build_card(entry.view, now) if entry.view else None)
        if card is not None and search.card_matches(card, state, queue):
            cards.append(card)
    return JSON({"conversations": cards, "next": search.encode_cursor(position) if position else None})


@requires_admin
async def redact_message(request: Request) -> Response:
    """GDPR article 16: one message's content goes everywhere; that it was redacted, by whom and when stays."""
    cid = path_id(request, "conversation")
    seq = bounded_int(request.path_params["seq"], "seq", 0, 1, MAX_SEQ)
    found(await services_of(request).privacy.redact_message(cid, seq, actor(request)) or None, "no such message")
    return Response(status_code=204)


routes = [
    ApiRoute(
        "/api/v1/conversations",
        list_conversations,
        "GET",
        Operation(
            "Search the conversations",
            {200: ConversationPage},
            params=[
                Param("q", Annotated[str, msgspec.Meta(max_length=search.QUERY_LIMIT)], "words to search for"),
                Param("state", SessionStatus, "only conversations whose card has this status"),
                Param("queue", QueryId, "only conversations of this queue"),
                Param("cursor", str, "the `next` of the previous page"),
                Param("limit", Annotated[int, msgspec.Meta(ge=1, le=search.MAX_LIMIT)], "conversations a page"),
            ],
            errors={400: "a bad parameter"},
        ),
    ),
    ApiRoute(
        "/api/v1/conversations/{id}",
        get_conversation,
        "GET",
        Operation(
            "Read a whole conversation",
            {200: Conversation},
            errors={
                400: "a bad id",
                403: "an agent that did not take part (a supervisor: nor is it of a queue it supervises)",
                404: "no such conversation",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/conversations/{id}/messages/{seq}",
        redact_message,
        "DELETE",
        Operation(
            "Redact a message",
            {204: None},
            params=[
                Param("seq", Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)], "the message's sequence number", "path")
            ],
            errors={400: "a bad id or seq", 404: "no such message"},
        ),
    ),
]
