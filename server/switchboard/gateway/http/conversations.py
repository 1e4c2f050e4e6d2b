"""Conversations: `/api/v1/conversations`, search and the whole history of one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain import search
from ...domain.accounts import supervised
from ...domain.cards import build_card
from ...domain.config import check_id, decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.frames.incoming import message_content
from ...domain.frames.outgoing import Card, HistoryEvent, Message, NoteAdded
from ...domain.parameters import bounded_int
from ...domain.prechat import LOOSE_EMAIL
from ...domain.rich import Rich
from ...domain.states import SessionStatus
from ...record.search import CustomerFilter
from ...store.clock import now_ms
from ..attachment_urls import signed_afresh
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin, requires_admin_or_agent
from .openapi import ApiRoute, Operation, Param, QueryId
from .principals import actor

if TYPE_CHECKING:
    from ..services import Services

MAX_SEQ = 2**31 - 1
MAX_EXTERNAL_ID = 128
MAX_EMAIL = 254


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
    """The whole conversation. An agent reads only one it took part in, or one of a customer
    it served (its earlier conversations); a supervisor also those with a session in a queue
    it supervises."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    aid = request.state.agent
    took_part = aid is None or await s.directory.took_part(aid, cid)
    conversation = await s.directory.conversation(cid)
    if conversation is None:  # it left Redis after the live window: PostgreSQL keeps it
        conversation = await s.record.conversation(cid, now_ms())
    if not took_part:
        if conversation is None:
            # a supervisor may learn that an id is no conversation; an agent learns nothing
            if supervised(await s.directory.agent_profile(aid) or {}):
                raise SwitchboardError(ErrorCode.NOT_FOUND, "no such conversation")
            raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
        if not await may_read_as_context(s, aid, conversation):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
    conversation = found(conversation, "no such conversation")
    signed_afresh(s.settings, conversation["messages"])
    return JSON(conversation)


async def may_read_as_context(s: Services, aid: str, conversation: dict[str, Any]) -> bool:
    """A conversation an agent did not take part in: one of its supervised queues, or one of
    a customer the agent served (the same visitor, or the same verified email)."""
    supervising = supervised(await s.directory.agent_profile(aid) or {})
    if any(card["queue"]["id"] in supervising for card in conversation["sessions"]):
        return True
    visitor = conversation["card"].get("visitor_id")
    if visitor is not None and await served_customer(s, aid, CustomerFilter(visitor=visitor)):
        return True
    emails = {
        str(card["customer"]["email"]).lower()
        for card in conversation["sessions"]
        if card.get("customer", {}).get("verified") and card["customer"].get("email")
    }
    for email in sorted(emails):
        if await served_customer(s, aid, CustomerFilter(email=email)):
            return True
    return False


async def served_customer(s: Services, aid: str, customer: CustomerFilter) -> bool:
    """Whether the agent took part in a conversation of this customer."""
    among = await s.directory.agent_conversation_ids(aid)
    # Redis first: the chat the agent has just taken may not be in PostgreSQL yet.
    if customer.visitor is not None and set(among) & set(await s.directory.visitor_conversation_ids(customer.visitor)):
        return True
    served, _ = await s.search.page(None, None, None, 1, None, among=among, customer=customer)
    return bool(served)


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
    customer = customer_filter(params)
    s = services_of(request)
    among = supervising = None
    if request.state.agent is not None:
        among = await s.directory.agent_conversation_ids(request.state.agent)
        supervising = sorted(supervised(await s.directory.agent_profile(request.state.agent) or {}))
        if customer is not None and await served_customer(s, request.state.agent, customer):
            among = supervising = None  # the agent talks (or talked) with this customer: its context
    found, position = await s.search.page(
        q.strip() or None, state, queue, limit, cursor, among=among, or_in_queues=supervising, customer=customer
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


def customer_filter(params: Mapping[str, str]) -> CustomerFilter | None:
    """`visitor`, `external_id` and `email` (a verified one): one customer's conversations."""
    visitor = check_id("visitor", params["visitor"]) if params.get("visitor") else None
    external_id = params.get("external_id") or None
    if external_id is not None and (len(external_id) > MAX_EXTERNAL_ID or "\x00" in external_id):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"external_id must be at most {MAX_EXTERNAL_ID} characters")
    email = params.get("email") or None
    if email is not None and (len(email) > MAX_EMAIL or "\x00" in email or not LOOSE_EMAIL.fullmatch(email)):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "email must be an email address")
    if visitor is None and external_id is None and email is None:
        return None
    return CustomerFilter(visitor, external_id, email.lower() if email else None)


class PostedMessage(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A message from automation: a bot's, or a system line, in plain text or rich."""

    role: Literal["bot", "system"]
    text: str | None = None
    rich: Rich | None = None
    #: the name a bot's message shows (a system line shows none)
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class MessageAdded(msgspec.Struct, forbid_unknown_fields=True):
    message_id: str
    seq: int


@requires_admin
async def post_message(request: Request) -> Response:
    """A bot's or a system message into the conversation's open session: every party gets
    it like any message, and the history keeps it."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    body = decode_config(await read_body(request), PostedMessage)
    text, extras = message_content(body.text, body.rich, s.settings.agent_text_limit)
    name = (body.name or "") if body.role == "bot" else ""
    posted = await s.router.post_message(cid, body.role, "", name, text, extras=extras)
    return JSON({"message_id": posted["message_id"], "seq": posted["seq"]}, status_code=201)


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
                Param("visitor", QueryId, "only this visitor's conversations"),
                Param(
                    "external_id",
                    Annotated[str, msgspec.Meta(max_length=MAX_EXTERNAL_ID)],
                    "only the conversations of the customer the host site's signed identity calls so",
                ),
                Param(
                    "email",
                    Annotated[str, msgspec.Meta(max_length=MAX_EMAIL)],
                    "only the conversations whose customer had this email verified (by an agent or a signed identity)",
                ),
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
        "/api/v1/conversations/{id}/messages",
        post_message,
        "POST",
        Operation(
            "Post a bot's or a system message",
            {201: MessageAdded},
            request=PostedMessage,
            errors={
                400: "a bad id or body (neither text nor rich, a bad rich message)",
                404: "no such conversation",
                409: "the conversation's session has ended",
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
