"""The shapes of the command results that the gateway reads.

TypedDicts, not msgspec Structs: a result is the dict that msgspec already
decoded from the Lua step's JSON, and the gateway sends most of it on as the
ack's payload. A TypedDict types that dict at no cost; a Struct would mean a
second conversion on every message and chat start (the hot path) and another
back to a dict for the frame.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class MessagePosted(TypedDict):
    message_id: str
    seq: int
    #: the client_msg_id was seen before: nothing was appended
    duplicate: NotRequired[bool]
    #: a customer's message in a webhook bot's stage: the gateway POSTs it to the bot
    bot_hook: NotRequired[bool]


class ChatStarted(TypedDict):
    conversation_id: str
    session_id: str
    #: the queue was closed: the session waits unrouted until then
    opens_at: NotRequired[int]
    #: the webchat became a message left for the team (the queue was closed or unstaffed)
    left_message: NotRequired[bool]
    #: ... and when an answer may come: the queue's next opening (absent: when an agent signs in)
    expected_reply_at: NotRequired[int]
    #: with a first message, once its conversation op was applied
    message_id: NotRequired[str]
    seq: NotRequired[int]


class SessionEnded(TypedDict):
    conversation_id: str
    session_id: str
    reason: str


class PageViewed(TypedDict):
    #: the invite rules changed since the version given: nothing was written
    stale: NotRequired[bool]
    web_session_id: NotRequired[str]
    started: NotRequired[bool]
