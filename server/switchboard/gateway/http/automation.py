"""The conversations API for automation (bots, other channels): create a conversation in
the bot stage or queued, hand it over to a queue, end it. Admin token or an admin API key.
Messages into it go through `POST /conversations/{id}/messages` (http/conversations.py)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.bots import Attributes, Summary
from ...domain.config import decode_config
from ...domain.frames.incoming import ChatPriority, CustomerInfo, Id, Tag
from ...domain.states import Channel
from ..auth import new_id
from .common import JSON, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation

LineText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class TranscriptLine(msgspec.Struct, forbid_unknown_fields=True):
    """A line said before the conversation came here (a bot's flow, another channel)."""

    role: Literal["customer", "bot", "system"]
    text: LineText


class NewConversation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    queue: Id
    language: Tag = "en"
    channel: Channel = Channel.MESSAGING
    customer: CustomerInfo | None = None
    transcript: Annotated[list[TranscriptLine], msgspec.Meta(max_length=200)] = []
    attributes: Attributes = {}
    summary: Summary | None = None
    #: true: queued for an agent at once; false: in the bot stage until `handoff`
    handoff: bool = False
    #: raises the chat's priority within its queue (at most the queue's `max_chat_priority`)
    priority: ChatPriority = 0
    #: the name the transcript's bot lines show
    bot_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class ConversationCreated(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    session_id: str
    visitor_id: str
    status: Literal["bot", "waiting"]


class Handoff(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    queue: Id | None = None
    summary: Summary | None = None
    attributes: Attributes = {}


class HandedOff(msgspec.Struct, forbid_unknown_fields=True):
    conversation_id: str
    session_id: str
    queue: str


class EndBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Ended(msgspec.Struct, forbid_unknown_fields=True):
    conversation_id: str
    session_id: str
    reason: Literal["api_ended"]


@requires_admin
async def create_conversation(request: Request) -> Response:
    """A conversation of a new visitor in `queue`, with the lines said so far; in the bot
    stage (offered to nobody) until it is handed off, or queued at once with `handoff`."""
    s = services_of(request)
    body = decode_config(await read_body(request), NewConversation)
    visitor_id, cid = new_id("v"), new_id("c")
    customer = {k: v for k, v in msgspec.structs.asdict(body.customer).items() if v} if body.customer else {}
    started = await s.router.start_chat(
        visitor_id=visitor_id,
        conversation_id=cid,
        session_id=new_id("s"),
        queue=body.queue,
        language=body.language,
        channel=body.channel.value,
        customer=customer,
        attributes=body.attributes,
        bot_stage=True,
        summary=body.summary or "",
        priority=body.priority,
    )
    for line in body.transcript:
        name = (
            customer.get("name", "") if line.role == "customer" else (body.bot_name or "") if line.role == "bot" else ""
        )
        sender = visitor_id if line.role == "customer" else ""
        await s.router.post_message(cid, line.role, sender, name, line.text)
    if body.handoff:
        await s.router.handoff(cid)
    status = "waiting" if body.handoff else "bot"
    created = {"id": cid, "session_id": started["session_id"], "visitor_id": visitor_id, "status": status}
    return JSON(created, status_code=201)


@requires_admin
async def hand_off(request: Request) -> Response:
    """The conversation's session leaves the bot stage and waits for an agent."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    body = decode_config(await read_body(request) or b"{}", Handoff)
    result = await s.router.handoff(cid, body.queue or "", body.summary or "", body.attributes)
    return JSON({k: result[k] for k in ("conversation_id", "session_id", "queue")})


@requires_admin
async def end_conversation(request: Request) -> Response:
    """Ends the conversation's open session, whatever its stage; agents in it wrap up."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    body = decode_config(await read_body(request), EndBody)
    result = await s.router.end_by_automation(cid, body.reason)
    return JSON({"conversation_id": cid, "session_id": result["session_id"], "reason": result["reason"]})


routes = [
    ApiRoute(
        "/api/v1/conversations",
        create_conversation,
        "POST",
        Operation(
            "Create a conversation (bot stage, or queued with handoff)",
            {201: ConversationCreated},
            request=NewConversation,
            errors={400: "a bad body, or a language the queue does not serve", 404: "no such queue"},
        ),
    ),
    ApiRoute(
        "/api/v1/conversations/{id}/handoff",
        hand_off,
        "POST",
        Operation(
            "Hand a conversation over from its bot to a queue",
            {200: HandedOff},
            request=Handoff,
            request_optional=True,
            errors={
                400: "a bad id or body, or a language the queue does not serve",
                404: "no such conversation or queue",
                409: "the session is not in the bot stage, or has ended",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/conversations/{id}/end",
        end_conversation,
        "POST",
        Operation(
            "End a conversation's open session",
            {200: Ended},
            request=EndBody,
            errors={400: "a bad id or body", 404: "no such conversation", 409: "the session has already ended"},
        ),
    ),
]
