"""Events: what the server sends on a socket, one typed struct per frame `type`.

Fields follow docs/protocol.md; a field the server may leave out is `None` here. Decoding is lenient
where the contract lets the server grow: fields this client does not know are ignored, and a frame of a
type it does not know (or one whose shape it cannot read) arrives as `UnknownEvent` with its raw fields,
so a newer server never breaks an older client.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
from msgspec import field


class Part(msgspec.Struct, kw_only=True):
    """A value nested in an event."""


class Event(msgspec.Struct, kw_only=True):
    """Every event; `type` is the frame's `type` on the wire."""

    type: ClassVar[str] = ""


# ---------------------------------------------------------------- parts


class AgentRef(Part):
    id: str
    display_name: str


class QueueRef(Part):
    id: str
    name: str


class Sender(Part):
    role: str  # customer, agent or system
    id: str | None = None
    display_name: str | None = None


class Contact(Part):
    verified: bool = False
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class PageVisit(Part):
    url: str
    ts: int
    title: str | None = None


class WrapUpCode(Part):
    code: str | None  # None: the wrap-up timed out
    label: str
    notes: str | None = None


class Redaction(Part):
    by: str
    at: int


class Card(Part):
    """A session card."""

    conversation_id: str
    session_id: str
    title: str
    channel: str
    status: str
    status_label: str
    queue: QueueRef
    agents: list[AgentRef]
    customer: Contact
    queued_at: int
    icon: str = ""
    color: str = ""
    duration_s: int = 0
    journey: list[PageVisit] = []
    connected_at: int | None = None
    ended_at: int | None = None
    end_reason: str | None = None
    wrap_up: WrapUpCode | None = None


class AgentProfile(Part):
    id: str
    display_name: str
    role: str
    languages: list[str]
    skills: list[str]
    queues: list[str]
    capacity: int


class AgentStateView(Part):
    state: str
    since: int
    reason: str | None = None


# ---------------------------------------------------------------- history (with `seq`)


class Message(Event):
    type: ClassVar[str] = "message"
    conversation_id: str
    message_id: str
    seq: int
    ts: int
    sender: Sender = field(name="from")
    text: str | None = None  # None once redacted
    client_msg_id: str | None = None
    redacted: Redaction | None = None


class Note(Message):
    """An internal note: agents and supervisors only."""

    type: ClassVar[str] = "note"


class SessionEvent(Event):
    """A history event of a session (like `Message`, it has a `seq` and is replayed on resume)."""

    conversation_id: str
    session_id: str
    seq: int
    ts: int


class ChatConnected(SessionEvent):
    type: ClassVar[str] = "chat.connected"
    agent: AgentRef


class ParticipantJoined(SessionEvent):
    type: ClassVar[str] = "chat.participant_joined"
    agent: AgentRef


class ParticipantLeft(SessionEvent):
    type: ClassVar[str] = "chat.participant_left"
    agent: AgentRef


class ChatTransferred(SessionEvent):
    type: ClassVar[str] = "chat.transferred"
    from_agent: AgentRef | None = None
    agent: AgentRef | None = None  # to an agent
    queue: QueueRef | None = None  # to a queue


class ChatEnded(SessionEvent):
    type: ClassVar[str] = "chat.ended"
    reason: str


class CsatRequested(SessionEvent):
    type: ClassVar[str] = "csat.requested"


# ---------------------------------------------------------------- both sockets


class CustomerWelcome(Event):
    """The answer to the customer's hello; delivered as an event again after each reconnect."""

    type: ClassVar[str] = "welcome"
    visitor_id: str
    visitor_token: str
    conversation: Card | None = None
    recovered: bool | None = None  # with resume: False when the server's history was older than the client's


class AgentWelcome(Event):
    """The answer to the agent's hello; delivered as an event again after each reconnect."""

    type: ClassVar[str] = "welcome"
    agent: AgentProfile
    state: AgentStateView
    conversations: list[Card] = []
    offers: list[Offer] = []
    monitoring: list[str] = []


class Typing(Event):
    type: ClassVar[str] = "typing"
    conversation_id: str | None = None
    sender: Sender | None = field(name="from", default=None)
    active: bool = False
    preview: str | None = None


class Read(Event):
    type: ClassVar[str] = "read"
    conversation_id: str
    seq: int
    sender: Sender | None = field(name="from", default=None)


class MessageRedacted(Event):
    type: ClassVar[str] = "message.redacted"
    conversation_id: str
    message_id: str
    seq: int
    redacted: Redaction


class ErrorEvent(Event):
    """An `error` frame that answers no command of this client (a command sent without `ref`)."""

    type: ClassVar[str] = "error"
    code: str
    message: str


# ---------------------------------------------------------------- to the customer


class ChatQueued(Event):
    type: ClassVar[str] = "chat.queued"
    conversation_id: str
    session_id: str
    position: int  # 1 = next
    estimated_wait_ms: int | None = None
    opens_at: int | None = None  # held until the queue opens


class ChatPosition(Event):
    type: ClassVar[str] = "chat.position"
    conversation_id: str
    session_id: str
    position: int
    estimated_wait_ms: int | None = None


class InactivityWarning(Event):
    type: ClassVar[str] = "chat.inactivity_warning"
    conversation_id: str
    session_id: str
    ends_at: int  # the session ends then unless someone writes


class Invite(Event):
    type: ClassVar[str] = "invite"
    invite_id: str
    queue: str
    text: str
    expires_at: int | None = None


# ---------------------------------------------------------------- to agents


class Offer(Event):
    type: ClassVar[str] = "offer"
    offer_id: str
    kind: str  # new, transfer or conference
    conversation_id: str
    session_id: str
    customer: Contact
    queue: QueueRef
    language: str
    skills: list[str]
    thread: list[Message]  # the conversation's last messages
    queued_at: int
    offered_at: int
    expires_at: int
    from_agent: AgentRef | None = None


class OfferRevoked(Event):
    type: ClassVar[str] = "offer.revoked"
    offer_id: str
    reason: str


class AgentStateChanged(Event):
    type: ClassVar[str] = "agent.state"
    state: str
    since: int
    reason: str | None = None


class ConversationAssigned(Event):
    type: ClassVar[str] = "conversation.assigned"
    conversation_id: str
    card: Card
    messages: list[dict[str, Any]]  # the history so far, notes included, as the server stored it


class ConversationClosed(Event):
    type: ClassVar[str] = "conversation.closed"
    conversation_id: str
    session_id: str
    wrap_up: WrapUpCode


class CardChanged(Event):
    type: ClassVar[str] = "card"
    conversation_id: str
    card: Card


class AgentInSession(Event):
    conversation_id: str
    session_id: str | None = None
    agent: AgentRef | None = None


class TransferFailed(AgentInSession):
    type: ClassVar[str] = "transfer.failed"
    reason: str = ""


class ConferenceFailed(AgentInSession):
    type: ClassVar[str] = "conference.failed"
    reason: str = ""


class ConferenceRequested(AgentInSession):
    type: ClassVar[str] = "conference.requested"
    offer_id: str | None = None


class ConferenceStarted(AgentInSession):
    type: ClassVar[str] = "conference.started"


class ConferenceEnded(AgentInSession):
    type: ClassVar[str] = "conference.ended"


class HelpRequested(AgentInSession):
    type: ClassVar[str] = "help.requested"
    card: Card | None = None
    text: str | None = None


class Stats(Event):
    """The supervisor feed's figures; queue and agent rows as the server sends them."""

    type: ClassVar[str] = "stats"
    queues: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    window_s: int
    ts: int


class UnknownEvent(Event):
    """A frame of a type this client does not know, or whose fields it could not read: kept as it came."""

    name: str  # the frame's `type`
    data: dict[str, Any]


#: The history events, on both sockets (a customer is never sent a note, an agent no survey).
COMMON_EVENTS: tuple[type[Event], ...] = (
    Message,
    Note,
    CsatRequested,
    ChatConnected,
    ParticipantJoined,
    ParticipantLeft,
    ChatTransferred,
    ChatEnded,
    Typing,
    MessageRedacted,
    ErrorEvent,
)
CUSTOMER_ONLY: tuple[type[Event], ...] = (CustomerWelcome, ChatQueued, ChatPosition, InactivityWarning, Invite)
CUSTOMER_EVENTS: dict[str, type[Event]] = {cls.type: cls for cls in (*COMMON_EVENTS, *CUSTOMER_ONLY)}
AGENT_ONLY: tuple[type[Event], ...] = (
    Read,
    AgentWelcome,
    Offer,
    OfferRevoked,
    AgentStateChanged,
    ConversationAssigned,
    ConversationClosed,
    CardChanged,
    TransferFailed,
    ConferenceFailed,
    ConferenceRequested,
    ConferenceStarted,
    ConferenceEnded,
    HelpRequested,
    Stats,
)
AGENT_EVENTS: dict[str, type[Event]] = {cls.type: cls for cls in (*COMMON_EVENTS, *AGENT_ONLY)}


def parse_event(frame: dict[str, Any], known: dict[str, type[Event]]) -> Event:
    """The typed event for a decoded frame; `UnknownEvent` when its type or shape is not one `known`."""
    name = frame.get("type")
    cls = known.get(name) if isinstance(name, str) else None
    if cls is None:
        return UnknownEvent(name=str(name), data=frame)
    try:
        return msgspec.convert(frame, cls)
    except msgspec.ValidationError:
        return UnknownEvent(name=cls.type, data=frame)


def seq_of(event: Event) -> tuple[str, int] | None:
    """The conversation and `seq` of a history event (stored, and replayed on resume), else None."""
    if isinstance(event, Message | SessionEvent):
        return event.conversation_id, event.seq
    return None
