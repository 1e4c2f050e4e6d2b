"""Schemas of the administrable objects: queues and agents."""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

import msgspec

from .attachments import AttachmentLimits
from .bots import BotConfig
from .errors import ErrorCode, SwitchboardError
from .frames import Tag
from .frames.incoming import ChatPriority
from .hours import BusinessHours
from .prechat import PrechatFields, check_field_names
from .states import AcceptMode, Role

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400 * 30)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=64)]
#: a web origin as browsers send it in `Origin`: scheme, host and optional port, no path
Origin = Annotated[str, msgspec.Meta(max_length=256, pattern=r"^https?://[A-Za-z0-9.\[\]:-]+$")]
#: an agent's proficiency in a skill, 1 (novice) to 5 (expert)
Level = Annotated[int, msgspec.Meta(ge=1, le=5)]
#: skill -> level: an agent's proficiencies, or the minimum levels a queue or routing step asks for
Levels = Annotated[dict[Tag, Level], msgspec.Meta(max_length=64)]
#: the level of an agent in a skill it has when its `proficiency` does not name it
DEFAULT_LEVEL = 3
#: which eligible agent gets a chat: the longest idle, or the one with the highest total
#: proficiency over the required skills (then the longest idle)
AgentSelection = Literal["longest_idle", "best_skilled"]


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class WrapUpCode(msgspec.Struct, forbid_unknown_fields=True):
    code: Code
    label: Name


class RoutingStep(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    after_s: Annotated[float, msgspec.Meta(ge=0, le=86400)]
    skills: Tags | None = None
    languages: Tags | None = None
    #: replaces the queue's `min_proficiency` once the step is reached
    min_proficiency: Levels | None = None


DEFAULT_WRAP_UP_CODES = (
    WrapUpCode("resolved", "Resolved"),
    WrapUpCode("not_resolved", "Not resolved"),
)


class QueueConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    skills: Tags = []
    languages: Tags = []
    accept_mode: AcceptMode = AcceptMode.MANUAL
    offer_timeout_s: Seconds = 20
    wrap_up_timeout_s: Seconds = 120
    max_wait_s: Seconds | None = None
    #: an answer within this many seconds counts towards the service level (GET /api/v1/stats)
    service_level_s: Seconds = 20
    #: an abandon within this many seconds is a short abandon: counted apart, out of the service level (reports)
    # 0: no abandon is counted apart
    short_abandon_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0
    # not empty: said by __post_init__, in the schema too
    wrap_up_codes: Annotated[list[WrapUpCode], msgspec.Meta(max_length=100, extra_json_schema={"minItems": 1})] = (
        msgspec.field(default_factory=lambda: list(DEFAULT_WRAP_UP_CODES))
    )
    #: the code a wrap-up gets when its time runs out; None: it closes with no code
    default_wrap_up_code: Code | None = None
    #: how many wrap-up codes (dispositions) one wrap-up may give
    max_dispositions: Annotated[int, msgspec.Meta(ge=1, le=20)] = 1
    #: "required": a wrap-up without notes is refused
    wrap_up_notes: Literal["optional", "required"] = "optional"
    #: when the agent's slot is free again: when the session ends, or once it is wrapped up
    release_capacity_on: Literal["end", "wrap_up"] = "wrap_up"
    priority: Annotated[int, msgspec.Meta(ge=-100, le=100)] = 0
    #: the highest `priority` a chat may ask for in start_chat (0: chats cannot raise theirs)
    max_chat_priority: ChatPriority = 0
    #: a waiting chat gains this much priority per minute it has waited (0: none)
    priority_aging_per_min: Annotated[float, msgspec.Meta(ge=0, le=100)] = 0
    steps: Annotated[list[RoutingStep], msgspec.Meta(max_length=20)] = []
    #: the minimum level an agent needs in a required skill (one the queue, the chat or
    #: the current routing step requires) that this names; other skills ask for any level
    min_proficiency: Levels = {}
    agent_selection: AgentSelection = "longest_idle"
    #: queues whose agents may also take this queue's chats once they overflow: after
    #: `overflow_after_s` of waiting, or at once when no agent of this queue is signed in
    overflow_to: Annotated[
        list[Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern)]], msgspec.Meta(max_length=10)
    ] = []
    #: None: only the "no agent signed in" rule overflows a chat
    overflow_after_s: Seconds | None = None
    #: a returning customer's new session goes first to the agent in charge of its last session,
    #: if that session ended at most this long ago and the agent is free and eligible; None: never
    sticky_for_s: Seconds | None = None
    #: a connected chat nobody wrote in for this long ends; None: SWITCHBOARD_INACTIVITY_TIMEOUT_S
    inactivity_timeout_s: Seconds | None = None
    #: the customer gets `chat.inactivity_warning` this long before that end; None: no warning
    inactivity_warning_s: Seconds | None = None
    business_hours: BusinessHours | None = None
    #: the sites whose widget may open chats in this queue; None: SWITCHBOARD_ALLOWED_ORIGINS
    allowed_origins: Annotated[list[Origin], msgspec.Meta(max_length=50)] | None = None
    #: conversations of this queue are deleted everywhere this many days after they ended;
    #: None: SWITCHBOARD_RETENTION_DAYS (fractions allowed)
    retention_days: Annotated[float, msgspec.Meta(gt=0, le=36500)] | None = None
    #: the files customers and agents may send: the largest, and the types (decided from the bytes)
    attachments: AttachmentLimits = msgspec.field(default_factory=AttachmentLimits)
    #: the widget's pre-chat form for this queue; the values arrive in start_chat's attributes
    prechat_fields: PrechatFields = []
    #: a webchat while the queue is closed or nobody of it is signed in: refused, or a message
    #: left for the team (a messaging conversation that waits for an agent)
    offline: Literal["refuse", "leave_message"] = "leave_message"
    #: whether a customer may ask for its conversation's transcript by email; "always": it
    #: also goes by itself at the end of the chat to the email the customer gave
    send_transcript: Literal["never", "on_request", "always"] = "on_request"
    #: a bot in front: each new webchat talks to it first, until it hands off (domain/bots.py)
    bot: BotConfig | None = None

    def __post_init__(self) -> None:
        check_field_names(self.prechat_fields)
        codes = [c.code for c in self.wrap_up_codes]
        if len(set(codes)) != len(codes):
            raise ValueError("wrap_up_codes must not repeat a code")
        if not codes:
            raise ValueError("wrap_up_codes must not be empty")
        if self.default_wrap_up_code is not None and self.default_wrap_up_code not in codes:
            raise ValueError("default_wrap_up_code must be one of wrap_up_codes")


class AgentConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    display_name: Name
    role: Role = Role.AGENT
    languages: Tags
    skills: Tags = []
    #: the level in each of its skills (DEFAULT_LEVEL when not named); a skill the agent
    #: does not have is not given by naming it here
    proficiency: Levels = {}
    queues: Annotated[list[Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern)]], msgspec.Meta(max_length=64)]
    capacity: Annotated[int, msgspec.Meta(ge=1, le=50)] = 3


NotReadyReason = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"\S")]


class NotReadyReasons(msgspec.Struct, forbid_unknown_fields=True):
    """The reasons an agent may give for `not_ready` (break, lunch, ...); none: any reason, as before."""

    # not repeated: said by __post_init__, in the schema too
    reasons: Annotated[list[NotReadyReason], msgspec.Meta(max_length=50, extra_json_schema={"uniqueItems": True})]

    def __post_init__(self) -> None:
        if len(set(self.reasons)) != len(self.reasons):
            raise ValueError("reasons must not repeat a reason")


def check_id(kind: str, value: str) -> str:
    if not ID_PATTERN.match(value):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{kind} id must be 1 to 64 letters, digits, '_', '.' or '-'")
    return value


T = TypeVar("T")


def decode_config(raw: bytes, cls: type[T]) -> T:
    """Decode an HTTP body into `cls`, turning every schema failure into `bad_request`."""
    try:
        return msgspec.json.decode(raw, type=cls)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, str(exc)) from None
