"""Rich messages: quick replies, a card and a list of cards, sent by agents, bots or the
API. Clients render them from this data, as text and plain links, never as HTML. The
customer answers a choice with a `message` whose `choice` is the option's value and whose
`reply_to` is the rich message's seq; the server takes the label from the stored message,
so a customer cannot put words in an option's mouth."""

from __future__ import annotations

from typing import Annotated

import msgspec

Label = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
Value = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
#: a link a button opens, or a card's image: web addresses only (no javascript:, data: or file:)
WebUrl = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https?://[^\s<>\"'`]+$")]
ImageUrl = Annotated[str, msgspec.Meta(max_length=2000, pattern=r"^https://[^\s<>\"'`]+$")]


class Option(msgspec.Struct, forbid_unknown_fields=True):
    label: Label
    value: Value


class Button(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Opens `url`, or answers with `value` like a quick reply: exactly one of them."""

    label: Label
    url: WebUrl | None = None
    value: Value | None = None

    def __post_init__(self) -> None:
        if (self.url is None) == (self.value is None):
            raise ValueError("a button has either a url or a value")


class CardContent(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    title: Title
    text: Body | None = None
    image_url: ImageUrl | None = None
    buttons: Annotated[list[Button], msgspec.Meta(max_length=5)] = []


class QuickReplies(msgspec.Struct, forbid_unknown_fields=True, tag_field="kind", tag="quick_replies"):
    text: Body
    options: Annotated[list[Option], msgspec.Meta(min_length=1, max_length=10)]


class RichCard(CardContent, tag_field="kind", tag="card"):
    pass


class CardList(msgspec.Struct, forbid_unknown_fields=True, tag_field="kind", tag="list"):
    #: cards; each may leave out its `kind`
    items: Annotated[list[RichCard], msgspec.Meta(min_length=1, max_length=10)]


Rich = QuickReplies | RichCard | CardList


def _card_text(card: CardContent) -> str:
    return card.title + (f"\n{card.text}" if card.text else "")


def plain_text(rich: Rich) -> str:
    """The message's `text`: what a client that shows no rich messages shows, and what
    search and transcripts hold."""
    match rich:
        case QuickReplies():
            return rich.text
        case CardList():
            return "\n\n".join(_card_text(item) for item in rich.items)
        case _:
            return _card_text(rich)


def choices(rich: Rich) -> dict[str, str]:
    """value -> label of everything the customer may pick in it."""
    cards: list[CardContent] = []
    match rich:
        case QuickReplies():
            return {option.value: option.label for option in rich.options}
        case CardList():
            cards = list(rich.items)
        case _:
            cards = [rich]
    return {button.value: button.label for card in cards for button in card.buttons if button.value is not None}
