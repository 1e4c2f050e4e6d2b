"""Every state and enumerated value of the model, in one place."""

from __future__ import annotations

from enum import StrEnum


class AgentState(StrEnum):
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    OFFLINE = "offline"
    RONA = "rona"


#: States an agent may choose with `set_state`; `rona` is only set by the server.
SETTABLE_AGENT_STATES = frozenset({AgentState.AVAILABLE, AgentState.NOT_READY, AgentState.OFFLINE})


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class SessionStatus(StrEnum):
    BOT = "bot"  # a bot talks with the customer; offered to nobody until it hands off
    WAITING = "waiting"
    OFFERED = "offered"
    ACTIVE = "active"
    CONFERENCE = "conference"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"


#: Statuses in which the customer can still write into the session.
OPEN_STATUSES = frozenset(
    {SessionStatus.BOT, SessionStatus.WAITING, SessionStatus.OFFERED, SessionStatus.ACTIVE, SessionStatus.CONFERENCE}
)


class EndReason(StrEnum):
    CUSTOMER_ABANDONED = "customer_abandoned"
    CUSTOMER_ENDED = "customer_ended"
    AGENT_ENDED = "agent_ended"
    INACTIVITY_TIMEOUT = "inactivity_timeout"
    QUEUE_TIMEOUT = "queue_timeout"
    ERASED = "erased"  # the visitor was erased (GDPR article 17)
    API_ENDED = "api_ended"  # automation ended it (the conversations API), saying why


class Channel(StrEnum):
    WEBCHAT = "webchat"
    MESSAGING = "messaging"


class AcceptMode(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"


class LifecycleEvent(StrEnum):
    SESSION_BOT_STARTED = "session.bot_started"
    SESSION_HANDED_OFF = "session.handed_off"
    SESSION_QUEUED = "session.queued"
    SESSION_OFFERED = "session.offered"
    SESSION_DECLINED = "session.declined"
    SESSION_RONA = "session.rona"
    SESSION_CONNECTED = "session.connected"
    SESSION_TRANSFERRED = "session.transferred"
    SESSION_CONFERENCE_STARTED = "session.conference_started"
    SESSION_CONFERENCE_ENDED = "session.conference_ended"
    SESSION_ENDED = "session.ended"
    SESSION_WRAPPED_UP = "session.wrapped_up"
    AGENT_STATE_CHANGED = "agent.state_changed"
    INVITE_SENT = "invite.sent"
    INVITE_ACCEPTED = "invite.accepted"
    INVITE_DISMISSED = "invite.dismissed"
    CSAT_SUBMITTED = "csat.submitted"
