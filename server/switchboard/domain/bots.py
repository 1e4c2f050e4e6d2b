"""Bots in front of a queue: the queue's `bot` field, and what a webhook bot answers.

A queue with a `bot` starts each new webchat in the bot stage (session status `bot`): the
customer talks to the bot, offered to no agent, until the bot hands it off (or ends it, or
the customer asks for a person). Two kinds of bot:

- a socket bot (`{name}`): a process connected to `/ws/bot` that said `hello` with that
  name gets the customer's messages and answers over the socket;
- a webhook bot (`{url, secret}`): each customer message is POSTed to `url`, signed like the
  webhooks (Standard Webhooks), and the answer `{replies, handoff?}` is applied.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from .errors import SwitchboardError
from .rich import Rich
from .webhooks import check_secret, check_url

#: a socket bot's name: what its `hello` says, and the channel its frames come on
BotName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
#: what a handoff says of the chat, and the flow's variables it carries
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Attributes = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=64)], Annotated[str, msgspec.Meta(max_length=512)]],
    msgspec.Meta(max_length=32),
]
ReplyText = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]

#: the summary of a chat a bot handed on because it was away (socket) or failed (webhook)
ABSENT_SUMMARY = "The bot was not available; the customer was handed to the queue."
CUSTOMER_ASKED_SUMMARY = "The customer asked for a person."
FAILED_SUMMARY = "The bot did not answer; the customer was handed to the queue."


class BotConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """A queue's `bot`: `name` (a socket bot) or `url` and `secret` (a webhook bot)."""

    #: the bot socket's name (`hello {name}`); a webhook bot may name itself too (its events say so)
    name: BotName | None = None
    #: a webhook bot: each customer message is POSTed here
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    #: signs the webhook bot's requests (`whsec_` and base64, as the webhooks' secrets)
    secret: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    #: the name the customer sees on the bot's messages
    display_name: DisplayName = "Assistant"

    def __post_init__(self) -> None:
        try:
            if self.url is not None:
                check_url(self.url)
                if self.secret is None:
                    raise ValueError("a webhook bot (url) needs a secret")
                check_secret(self.secret)
            elif self.name is None:
                raise ValueError("a bot needs a name (socket bot) or a url (webhook bot)")
            elif self.secret is not None:
                raise ValueError("secret is for a webhook bot (url)")
        except SwitchboardError as bad:
            raise ValueError(f"bot: {bad.message}") from None

    @property
    def is_webhook(self) -> bool:
        return self.url is not None


class BotReply(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One message a bot says: text, or a rich message (quick replies, a card, a list)."""

    text: ReplyText | None = None
    rich: Rich | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.rich is None):
            raise ValueError("a reply has text or rich, one of them")


class HandoffRequest(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    summary: Summary | None = None
    attributes: Attributes = {}


class WebhookBotAnswer(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a webhook bot answers to a customer message."""

    replies: Annotated[list[BotReply], msgspec.Meta(max_length=10)] = []
    handoff: HandoffRequest | None = None
