"""Frames in: the clients' commands, decoded straight into typed structs.

Each client command is a struct tagged by its `type`; the customer and the agent
socket each accept one tagged union. Text length is checked by `check_text`, not
by the schema, so an over-long text gets `too_long` instead of `bad_request`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..errors import ErrorCode, SwitchboardError
from ..rich import Rich, Value, plain_text
from ..states import Channel

Ref = Annotated[str, msgspec.Meta(max_length=64)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ShortText = Annotated[str, msgspec.Meta(max_length=512)]
Url = Annotated[str, msgspec.Meta(max_length=2048)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
#: how much a chat raises its priority within its queue (up to the queue's `max_chat_priority`)
ChatPriority = Annotated[int, msgspec.Meta(ge=0, le=100)]
Preview = Annotated[str, msgspec.Meta(max_length=4000)]


class Command(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    ref: Ref | None = None


# ---------------------------------------------------------------- customer


class Resume(msgspec.Struct, forbid_unknown_fields=False):
    conversation_id: Id
    last_seq: Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class Page(msgspec.Struct):
    url: Url
    title: ShortText | None = None


class CustomerInfo(msgspec.Struct, omit_defaults=True):
    name: ShortText | None = None
    email: ShortText | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class CustomerHello(Command, tag="hello"):
    visitor_token: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    resume: Resume | None = None
    page: Page | None = None
    #: the host site's signed identity of its customer (a JWT; see gateway/identity.py)
    identity: Annotated[str, msgspec.Meta(max_length=8192)] | None = None
    #: the widget's language: an accepted invitation's chat asks for it
    language: Tag | None = None
    #: the widget's queue: the welcome says what it needs of it (its pre-chat form)
    queue: Id | None = None


class PageView(Command, tag="page_view"):
    url: Url
    title: ShortText | None = None


class StartChat(Command, tag="start_chat"):
    queue: Id
    language: Tag = "en"
    skills: Annotated[list[Tag], msgspec.Meta(max_length=32)] = []
    channel: Channel = Channel.WEBCHAT
    customer: CustomerInfo | None = None
    attributes: Annotated[
        dict[Annotated[str, msgspec.Meta(max_length=64)], ShortText], msgspec.Meta(max_length=32)
    ] = {}
    text: str | None = None
    priority: ChatPriority = 0


class CustomerMessage(Command, tag="message"):
    text: str
    client_msg_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    #: the value of an option or button picked in the rich message `reply_to` (its seq);
    #: the text becomes that option's label
    choice: Value | None = None
    reply_to: Annotated[int, msgspec.Meta(ge=1)] | None = None


class CustomerTyping(Command, tag="typing"):
    active: bool
    preview: Preview | None = None


class Read(Command, tag="read"):
    seq: Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class EndChat(Command, tag="end_chat"):
    pass


class AcceptInvite(Command, tag="accept_invite"):
    invite_id: Id
    #: the language the chat asks for; else the one of `hello`, else English
    language: Tag | None = None


class DismissInvite(Command, tag="dismiss_invite"):
    invite_id: Id


class Csat(Command, tag="csat"):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class RequestTranscript(Command, tag="request_transcript"):
    #: where to send it; the email the customer gave for the chat when absent
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None


class RequestAgent(Command, tag="request_agent"):
    """The customer talking to a queue's bot asks for a person: the chat leaves the bot stage."""


CustomerCommand = (
    CustomerHello
    | PageView
    | StartChat
    | CustomerMessage
    | CustomerTyping
    | Read
    | EndChat
    | AcceptInvite
    | DismissInvite
    | Csat
    | RequestTranscript
    | RequestAgent
)


# ---------------------------------------------------------------- agent


class AgentHello(Command, tag="hello"):
    token: Annotated[str, msgspec.Meta(max_length=1024)]
    resume: Annotated[dict[Id, Annotated[int, msgspec.Meta(ge=0, le=2**53)]], msgspec.Meta(max_length=200)] | None = (
        None
    )


class SetState(Command, tag="set_state"):
    state: Annotated[str, msgspec.Meta(max_length=32)]
    reason: ShortText | None = None


class Accept(Command, tag="accept"):
    offer_id: Id


class Decline(Command, tag="decline"):
    offer_id: Id


class AgentMessage(Command, tag="message"):
    conversation_id: Id
    #: optional with `rich` (its plain text is then the text)
    text: str | None = None
    client_msg_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    #: quick replies, a card or a list of cards (domain/rich.py)
    rich: Rich | None = None


class Note(Command, tag="note"):
    conversation_id: Id
    text: str


class AgentTyping(Command, tag="typing"):
    conversation_id: Id
    active: bool
    preview: Preview | None = None


class Transfer(Command, tag="transfer"):
    conversation_id: Id
    queue: Id | None = None
    agent: Id | None = None


class Conference(Command, tag="conference"):
    conversation_id: Id
    agent: Id


class Leave(Command, tag="leave"):
    conversation_id: Id


class EndConference(Command, tag="end_conference"):
    conversation_id: Id


class EndSession(Command, tag="end_session"):
    conversation_id: Id


WrapUpCodeId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class WrapUp(Command, tag="wrap_up"):
    conversation_id: Id
    # `code`, `codes` or both (domain/desk.py wrap_up_codes); `code` stays the contract
    code: WrapUpCodeId | None = None
    notes: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    #: several codes, up to the queue's max_dispositions
    codes: Annotated[list[WrapUpCodeId], msgspec.Meta(max_length=20)] | None = None
    #: the state the agent goes to once wrapped up; None: it keeps its state
    next_state: Literal["available", "not_ready"] | None = None
    reason: ShortText | None = None


class RequestHelp(Command, tag="request_help"):
    conversation_id: Id
    text: Annotated[str, msgspec.Meta(max_length=4000)] | None = None


class VerifyContact(Command, tag="verify_contact"):
    conversation_id: Id
    email: ShortText | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class Monitor(Command, tag="monitor"):
    conversation_id: Id


class Unmonitor(Command, tag="unmonitor"):
    conversation_id: Id


# A supervisor stepping into a conversation or acting on an agent of its queues (gateway/step_in.py).


class Whisper(Command, tag="whisper"):
    """A note from a supervisor monitoring the conversation: its agents see it, the customer never."""

    conversation_id: Id
    text: str


class BargeIn(Command, tag="barge_in"):
    """The supervisor joins the conversation as a participant the customer sees; `leave` ends it."""

    conversation_id: Id


class ForceState(Command, tag="force_state"):
    """An agent of the supervisor's queues goes `not_ready` (with a reason) or `offline` (signed out)."""

    agent: Id
    state: Literal["not_ready", "offline"]
    reason: Annotated[str, msgspec.Meta(max_length=100)] | None = None  # as POST /api/v1/agents/{id}/state


class Reassign(Command, tag="reassign"):
    """The conversation moves to another agent (`agent`) or back to a queue (`queue`): one of them."""

    conversation_id: Id
    agent: Id | None = None
    queue: Id | None = None


AgentCommand = (
    AgentHello
    | SetState
    | Accept
    | Decline
    | AgentMessage
    | Note
    | AgentTyping
    | Transfer
    | Conference
    | Leave
    | EndConference
    | EndSession
    | WrapUp
    | RequestHelp
    | VerifyContact
    | Monitor
    | Unmonitor
    | Whisper
    | BargeIn
    | ForceState
    | Reassign
)


def text_rules(limit: int) -> dict[str, object]:
    """What `check_text` (and the checks made like it) takes, for a schema: not blank, at most
    `limit` characters. For the schema only: the decoder takes any string, so that a text too
    long is refused as `too_long` by the check, not as `bad_request` by the decoder."""
    return {"minLength": 1, "maxLength": limit, "pattern": r"\S"}


def check_text(text: str, limit: int) -> str:
    """The text to store, or a refusal: empty is `bad_request`, over `limit` is `too_long`."""
    if not text.strip():
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "text must not be empty")
    if len(text) > limit:
        raise SwitchboardError(ErrorCode.TOO_LONG, f"text is longer than {limit} characters")
    return text


def message_content(text: str | None, rich: Rich | None, limit: int) -> tuple[str, dict[str, Any] | None]:
    """A message's text and its `extras` for the store: a rich message's text is its plain
    text (which a client that shows no rich messages shows, and search finds)."""
    if rich is None:
        if text is None:
            raise SwitchboardError(ErrorCode.BAD_REQUEST, "a message needs text or rich")
        return check_text(text, limit), None
    return check_text(text if text is not None else plain_text(rich), limit), {"rich": msgspec.to_builtins(rich)}


__all__ = [
    "Accept",
    "AcceptInvite",
    "AgentCommand",
    "AgentHello",
    "AgentMessage",
    "AgentTyping",
    "BargeIn",
    "Command",
    "Conference",
    "Csat",
    "CustomerCommand",
    "CustomerHello",
    "CustomerInfo",
    "CustomerMessage",
    "CustomerTyping",
    "Decline",
    "DismissInvite",
    "EndChat",
    "EndConference",
    "EndSession",
    "ForceState",
    "Id",
    "Leave",
    "Monitor",
    "Note",
    "Page",
    "PageView",
    "Preview",
    "Read",
    "Reassign",
    "Ref",
    "RequestAgent",
    "RequestHelp",
    "RequestTranscript",
    "Resume",
    "SetState",
    "ShortText",
    "StartChat",
    "Tag",
    "Transfer",
    "Unmonitor",
    "Url",
    "VerifyContact",
    "Whisper",
    "WrapUp",
    "check_text",
    "message_content",
    "text_rules",
]
