"""The bot socket `/ws/bot`: what a bot sends and what it gets.

A bot says `hello {api_key, name}` (an API key of scope `bot` or `admin`) and then serves the
bot stage of every queue whose `bot` is `{name}` (domain/bots.py): it gets `bot.conversation`
when a chat enters its stage, the customer's `message`s, and `bot.conversation_ended` when the
chat leaves it (handed off, or ended). It answers with `message`, `handoff` and `end`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..bots import Attributes, BotName, ReplyText, Summary
from ..rich import Rich
from .incoming import Command, Id
from .outgoing import Ack, Error, Frame, HistoryEvent, Part

# ---------------------------------------------------------------- what the bot sends


class BotHello(Command, tag="hello"):
    """The first frame: the bot's credentials and the name of the bot it is."""

    api_key: Annotated[str, msgspec.Meta(max_length=256)]
    name: BotName


class BotSay(Command, tag="message"):
    """A reply to the customer: `text`, or a rich message (`rich`), one of them."""

    conversation_id: Id
    text: ReplyText | None = None
    rich: Rich | None = None


class BotHandoff(Command, tag="handoff"):
    """The chat leaves the bot stage and waits in its queue (or `queue`) for an agent."""

    conversation_id: Id
    summary: Summary | None = None
    attributes: Attributes = msgspec.field(default_factory=dict)
    queue: Id | None = None


class BotEnd(Command, tag="end"):
    """The bot ends the chat (it was answered), `reason` in words."""

    conversation_id: Id
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


BotCommand = BotHello | BotSay | BotHandoff | BotEnd


# ---------------------------------------------------------------- what the bot gets


class BotConversation(Frame, tag="bot.conversation"):
    """A chat entered the bot's stage: the bot may greet the customer."""

    conversation_id: str
    session_id: str
    queue: str
    language: str
    channel: str
    customer: dict[str, Any] = msgspec.field(default_factory=dict)
    attributes: dict[str, str] = msgspec.field(default_factory=dict)


class BotConversationState(Part):
    """A chat in the bot's stage as the welcome lists it, with what was said so far."""

    conversation_id: str
    session_id: str
    queue: str
    customer: dict[str, Any] = msgspec.field(default_factory=dict)
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
    messages: list[dict[str, Any]] = msgspec.field(default_factory=list)


class BotWelcome(Frame, tag="welcome"):
    """The answer to `hello`: every chat waiting in the bot's stage now (a bot that was
    away picks them up where they are)."""

    name: str
    conversations: list[BotConversationState]


class BotConversationEnded(Frame, tag="bot.conversation_ended"):
    """The chat left the bot's stage: handed to an agent's queue, or ended."""

    conversation_id: str
    session_id: str
    reason: Literal["handed_off", "ended"]


BotFrame = HistoryEvent | Ack | Error | BotWelcome | BotConversation | BotConversationEnded

__all__ = [
    "BotCommand",
    "BotConversation",
    "BotConversationEnded",
    "BotConversationState",
    "BotEnd",
    "BotFrame",
    "BotHandoff",
    "BotHello",
    "BotSay",
    "BotWelcome",
]
