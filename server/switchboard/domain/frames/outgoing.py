"""Frames out: everything the server sends on a client socket, one struct per `type`.

The gateway encodes the frames it builds from these structs (`ack`, `error`, `welcome`, `typing`,
`read`, the supervisor feed's `stats` and `card`); the Lua library builds the others and publishes
them as JSON, and tests/test_frames_out.py decodes what it publishes into these structs, strictly.
A field that may be absent is `X | UnsetType = UNSET`: absent on the wire, never `null`.
"""

from __future__ import annotations

from typing import Literal

from msgspec import UNSET, UnsetType, field

from ..attachments import AttachmentRef
from ..prechat import PrechatField
from ..rich import Rich
from .base import Frame, Part
from .figures import AgentFigures, QueueFigures

#: How many of the conversation's last messages an offer carries (`thread`).
THREAD_LENGTH = 20


# ---------------------------------------------------------------- parts


class AgentRef(Part):
    id: str
    display_name: str


class QueueRef(Part):
    id: str
    name: str


class Sender(Part):
    role: str  # customer, agent, supervisor (a whisper), bot or system
    id: str | UnsetType = UNSET
    display_name: str | UnsetType = UNSET


class Contact(Part):
    verified: bool
    name: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    #: the host site's id of the customer, from its signed identity
    external_id: str | UnsetType = UNSET


class PageVisit(Part):
    url: str
    ts: int
    title: str | UnsetType | None = UNSET


class CsatAnswer(Part):
    rating: int
    comment: str | UnsetType = UNSET


class HelpRequest(Part):
    agent: AgentRef
    requested_at: int | None
    text: str | UnsetType = UNSET


class GivenWrapUpCode(Part):
    code: str
    label: str


class WrapUpCode(Part):
    code: str | None  # None: the wrap-up timed out
    label: str
    notes: str | UnsetType = UNSET
    codes: list[GivenWrapUpCode] | UnsetType = UNSET  # every code, when the agent gave several


class Card(Part):
    """A session card (domain/cards.py builds it)."""

    conversation_id: str
    session_id: str
    title: str
    channel: str
    icon: str
    color: str
    status: str
    status_label: str
    queue: QueueRef
    agents: list[AgentRef]
    customer: Contact
    journey: list[PageVisit]
    queued_at: int
    duration_s: int
    #: the customer's visitor: `GET /api/v1/conversations?visitor=` lists its earlier conversations
    visitor_id: str | UnsetType = UNSET
    #: the chat's attributes (pre-chat fields, topic, a bot's variables)
    attributes: dict[str, str] = {}
    connected_at: int | UnsetType = UNSET
    ended_at: int | UnsetType = UNSET
    end_reason: str | UnsetType = UNSET
    #: why automation ended it, in words (with `end_reason` api_ended)
    end_detail: str | UnsetType = UNSET
    #: what a bot handed over with the chat
    summary: str | UnsetType = UNSET
    csat: CsatAnswer | UnsetType = UNSET
    help: HelpRequest | UnsetType = UNSET
    wrap_up: WrapUpCode | UnsetType = UNSET


class AgentProfile(Part):
    id: str
    display_name: str
    role: str
    languages: list[str]
    skills: list[str]
    queues: list[str]
    capacity: int
    #: skill -> level (1 to 5) where it is not the default 3
    proficiency: dict[str, int] = {}


class AgentStateView(Part):
    state: str
    since: int
    reason: str | UnsetType = UNSET


# ---------------------------------------------------------------- conversation history
# Appended to a conversation's history: each has its `seq` and `ts`, and is replayed on resume.


class Redaction(Part):
    """An administrator removed the message's content (privacy law): by whom and when."""

    by: str
    at: int


class Message(Frame, tag="message"):
    conversation_id: str
    message_id: str
    seq: int
    ts: int
    from_: Sender = field(name="from")
    text: str | UnsetType = UNSET  # absent once redacted; of an attachment: its name
    client_msg_id: str | UnsetType = UNSET
    redacted: Redaction | UnsetType = UNSET
    #: "attachment": a file was sent (`POST /api/v1/conversations/{id}/attachments`); absent: text
    kind: Literal["attachment"] | UnsetType = UNSET
    #: the file (absent once redacted); its URLs are signed afresh on each read and resume
    attachment: AttachmentRef | UnsetType = UNSET
    #: quick replies, a card or a list (domain/rich.py); `text` is its plain text
    rich: Rich | UnsetType = UNSET
    #: a customer's pick: the option's value, and the seq of the rich message it answers
    choice: str | UnsetType = UNSET
    reply_to: int | UnsetType = UNSET


class NoteAdded(Frame, tag="note"):
    conversation_id: str
    message_id: str
    seq: int
    ts: int
    from_: Sender = field(name="from")
    text: str | UnsetType = UNSET  # absent once redacted
    client_msg_id: str | UnsetType = UNSET
    redacted: Redaction | UnsetType = UNSET


class SessionEvent(Frame):
    conversation_id: str
    session_id: str
    seq: int
    ts: int


class AgentEvent(SessionEvent):
    agent: AgentRef


class ChatConnected(AgentEvent, tag="chat.connected"):
    pass


class ParticipantJoined(AgentEvent, tag="chat.participant_joined"):
    pass


class ParticipantLeft(AgentEvent, tag="chat.participant_left"):
    pass


class ChatTransferred(SessionEvent, tag="chat.transferred"):
    from_agent: AgentRef
    agent: AgentRef | UnsetType = UNSET  # to an agent
    queue: QueueRef | UnsetType = UNSET  # to a queue
    by: AgentRef | UnsetType = UNSET  # the supervisor who reassigned it (else its agent transferred it)


class ChatEnded(SessionEvent, tag="chat.ended"):
    reason: str


class CsatRequested(SessionEvent, tag="csat.requested"):
    pass


HistoryEvent = (
    Message
    | NoteAdded
    | ChatConnected
    | ParticipantJoined
    | ParticipantLeft
    | ChatTransferred
    | ChatEnded
    | CsatRequested
)


# ---------------------------------------------------------------- answers and relays (built by the gateway)


class Ack(Frame, tag="ack"):
    """The answer to a command with a `ref`, with the command's result."""

    ref: str
    conversation_id: str | UnsetType = UNSET
    session_id: str | UnsetType = UNSET
    message_id: str | UnsetType = UNSET
    seq: int | UnsetType = UNSET
    opens_at: int | UnsetType = UNSET
    #: start_chat: the webchat became a message left for the team, and when an answer may come
    left_message: bool | UnsetType = UNSET
    expected_reply_at: int | UnsetType = UNSET
    #: request_transcript: the mail server took it
    emailed: bool | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    state: str | UnsetType = UNSET
    since: int | UnsetType = UNSET
    invite_id: str | UnsetType = UNSET
    rating: int | UnsetType = UNSET
    kind: str | UnsetType = UNSET
    code: str | UnsetType = UNSET
    label: str | UnsetType = UNSET
    offer_id: str | UnsetType = UNSET
    expires_at: int | UnsetType = UNSET
    queue: str | UnsetType = UNSET
    agent: str | UnsetType = UNSET  # a reassign's target agent
    supervisors: int | UnsetType = UNSET
    monitoring: bool | UnsetType = UNSET
    card: Card | UnsetType = UNSET
    messages: list[HistoryEvent] | UnsetType = UNSET
    codes: list[GivenWrapUpCode] | UnsetType = UNSET  # a wrap-up that gave several codes


class Error(Frame, tag="error"):
    code: str
    message: str
    ref: str | UnsetType = UNSET
    #: the input field the refusal is about (a pre-chat field)
    field: str | UnsetType = UNSET


class Typing(Frame, tag="typing"):
    conversation_id: str
    from_: Sender = field(name="from")
    active: bool
    preview: str | UnsetType = UNSET


class ReadReceipt(Frame, tag="read"):
    conversation_id: str
    seq: int
    from_: Sender = field(name="from")


class WidgetQueue(Part):
    """What the widget needs of the queue its `hello` named."""

    id: str
    prechat_fields: list[PrechatField] = []
    #: whether a chat would reach an agent now: the queue is open and someone of it signed in
    available: bool = True
    #: what a chat does when it would not: `refuse`, or `leave_message`
    offline: str = "leave_message"
    #: the queue's next opening, while it is closed
    opens_at: int | UnsetType = UNSET
    #: the name of the queue's bot, which a new chat talks to first (absent: no bot)
    bot_name: str | UnsetType = UNSET


class CustomerWelcome(Frame, tag="welcome"):
    visitor_id: str
    visitor_token: str
    conversation: Card | None
    recovered: bool | UnsetType = UNSET  # with `resume`
    queue: WidgetQueue | UnsetType = UNSET  # with `queue` in hello, when it is a queue


class CardChanged(Frame, tag="card"):
    conversation_id: str
    card: Card


class Stats(Frame, tag="stats"):
    queues: list[QueueFigures]
    agents: list[AgentFigures]
    window_s: int
    ts: int


# ---------------------------------------------------------------- to the customer (built by the store)


class QueuePlace(Frame):
    conversation_id: str
    session_id: str
    position: int  # 1 = next
    estimated_wait_ms: int | UnsetType = UNSET


class ChatQueued(QueuePlace, tag="chat.queued"):
    opens_at: int | UnsetType = UNSET  # held until the queue opens


class ChatPosition(QueuePlace, tag="chat.position"):
    pass


class InactivityWarning(Frame, tag="chat.inactivity_warning"):
    """Nobody wrote for a while: the session ends at `ends_at` unless someone writes."""

    conversation_id: str
    session_id: str
    ends_at: int


class Invite(Frame, tag="invite"):
    invite_id: str
    queue: str
    text: str
    expires_at: int


# ---------------------------------------------------------------- to agents (built by the store)


class Offer(Frame, tag="offer"):
    offer_id: str
    kind: str  # new, transfer or conference
    conversation_id: str
    session_id: str
    customer: Contact
    queue: QueueRef
    language: str
    skills: list[str]
    thread: list[HistoryEvent]
    queued_at: int
    offered_at: int
    expires_at: int
    #: what a bot handed over with the chat
    summary: str | UnsetType = UNSET
    #: the chat's attributes (pre-chat fields, topic, a bot's variables)
    attributes: dict[str, str] = {}
    from_agent: AgentRef | UnsetType = UNSET


class AgentWelcome(Frame, tag="welcome"):
    agent: AgentProfile
    state: AgentStateView
    conversations: list[Card]
    offers: list[Offer]
    monitoring: list[str] | UnsetType = UNSET  # supervisors


class OfferRevoked(Frame, tag="offer.revoked"):
    offer_id: str
    reason: str


class AgentStateChanged(Frame, tag="agent.state"):
    state: str
    since: int
    reason: str | UnsetType = UNSET


class ConversationAssigned(Frame, tag="conversation.assigned"):
    conversation_id: str
    card: Card
    messages: list[HistoryEvent]


class ConversationClosed(Frame, tag="conversation.closed"):
    conversation_id: str
    session_id: str
    wrap_up: WrapUpCode


class AgentInSession(Frame):
    conversation_id: str
    session_id: str
    agent: AgentRef


class OfferFailed(AgentInSession):
    reason: str


class TransferFailed(OfferFailed, tag="transfer.failed"):
    pass


class ConferenceFailed(OfferFailed, tag="conference.failed"):
    pass


class ConferenceRequested(AgentInSession, tag="conference.requested"):
    offer_id: str


class ConferenceStarted(AgentInSession, tag="conference.started"):
    pass


class ConferenceEnded(AgentInSession, tag="conference.ended"):
    pass


class HelpRequested(AgentInSession, tag="help.requested"):
    card: Card
    text: str | UnsetType = UNSET


class MessageRedacted(Frame, tag="message.redacted"):
    """A message of the conversation lost its content: show it as redacted (not stored as history)."""

    conversation_id: str
    message_id: str
    seq: int
    redacted: Redaction


# ---------------------------------------------------------------- to a node (built by the store)


class TokenRevoked(Frame, tag="token.revoked"):
    """An order to the node holding the agent's sockets (close those opened with an older token);
    never forwarded to a client."""

    version: str
    reason: str | UnsetType = UNSET  # the close reason (a visitor erased), else "token revoked"


CustomerFrame = (
    HistoryEvent
    | Ack
    | Error
    | Typing
    | CustomerWelcome
    | ChatQueued
    | ChatPosition
    | InactivityWarning
    | Invite
    | MessageRedacted
)

AgentFrame = (
    HistoryEvent
    | MessageRedacted
    | Ack
    | Error
    | Typing
    | ReadReceipt
    | AgentWelcome
    | CardChanged
    | Stats
    | Offer
    | OfferRevoked
    | AgentStateChanged
    | ConversationAssigned
    | ConversationClosed
    | TransferFailed
    | ConferenceFailed
    | ConferenceRequested
    | ConferenceStarted
    | ConferenceEnded
    | HelpRequested
)


__all__ = [
    "THREAD_LENGTH",
    "Ack",
    "AgentEvent",
    "AgentFigures",
    "AgentFrame",
    "AgentInSession",
    "AgentProfile",
    "AgentRef",
    "AgentStateChanged",
    "AgentStateView",
    "AgentWelcome",
    "Card",
    "CardChanged",
    "ChatConnected",
    "ChatEnded",
    "ChatPosition",
    "ChatQueued",
    "ChatTransferred",
    "ConferenceEnded",
    "ConferenceFailed",
    "ConferenceRequested",
    "ConferenceStarted",
    "Contact",
    "ConversationAssigned",
    "ConversationClosed",
    "CsatAnswer",
    "CsatRequested",
    "CustomerFrame",
    "CustomerWelcome",
    "Error",
    "Frame",
    "GivenWrapUpCode",
    "HelpRequest",
    "HelpRequested",
    "HistoryEvent",
    "InactivityWarning",
    "Invite",
    "Message",
    "MessageRedacted",
    "NoteAdded",
    "Offer",
    "OfferFailed",
    "OfferRevoked",
    "PageVisit",
    "Part",
    "ParticipantJoined",
    "ParticipantLeft",
    "QueueFigures",
    "QueuePlace",
    "QueueRef",
    "ReadReceipt",
    "Redaction",
    "Sender",
    "SessionEvent",
    "Stats",
    "TokenRevoked",
    "TransferFailed",
    "Typing",
    "WidgetQueue",
    "WrapUpCode",
]
