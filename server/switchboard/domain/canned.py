"""Canned responses: ready-made texts an agent inserts, with placeholders the desk fills in.

Everything here is pure: the schema of a response, placeholder parsing, the
reference `fill` that the agent desk mirrors in JavaScript, and the search match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec

from .errors import ErrorCode, SwitchboardError
from .frames import text_rules
from .rich import Rich

TITLE_LIMIT = 200
TEXT_LIMIT = 4000
#: A deployment keeps at most this many responses: the list and its search read all
#: of them at once, so the number must stay small enough for that.
MAX_RESPONSES = 5000
QUERY_LIMIT = 200

#: The values the desk knows when an agent inserts a response.
PLACEHOLDERS = (
    "customer.name",
    "customer.email",
    "customer.phone",
    "agent.display_name",
    "agent.id",
    "queue.name",
)
_KNOWN = frozenset(PLACEHOLDERS)

#: A placeholder is a dotted name in braces, such as {customer.name}. Anything else in
#: braces (one plain word, JSON, text with spaces) is ordinary text, so a response can
#: still show braces; a dotted name that is not known is refused, since it is most
#: likely a typo that would reach the customer unfilled.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}")


class CannedBody(msgspec.Struct, forbid_unknown_fields=True):
    """The body of `PUT /canned-responses/{id}`."""

    title: Annotated[str, msgspec.Meta(extra_json_schema=text_rules(TITLE_LIMIT))]
    text: Annotated[str, msgspec.Meta(extra_json_schema=text_rules(TEXT_LIMIT))]
    #: quick replies, a card or a list of cards (domain/rich.py) the desk sends with the text
    rich: Rich | None = None


def placeholders(text: str) -> list[str]:
    """The placeholder names in `text`, each once, in order of first appearance."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)))


def _check_length(field: str, value: str, limit: int) -> None:
    if not value.strip():
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{field} must not be empty")
    if len(value) > limit:
        raise SwitchboardError(ErrorCode.TOO_LONG, f"{field} is longer than {limit} characters")


def decode_body(raw: bytes) -> CannedBody:
    """A checked body, or a refusal naming what is wrong."""
    try:
        body = msgspec.json.decode(raw, type=CannedBody)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, str(exc)) from None
    _check_length("title", body.title, TITLE_LIMIT)
    _check_length("text", body.text, TEXT_LIMIT)
    unknown = [name for name in placeholders(body.text) if name not in _KNOWN]
    if unknown:
        raise SwitchboardError(
            ErrorCode.BAD_REQUEST,
            f"unknown placeholder {', '.join('{' + n + '}' for n in unknown)}; "
            f"known placeholders: {', '.join('{' + n + '}' for n in PLACEHOLDERS)}",
        )
    return body


def view(rid: str, title: str, text: str, updated_at: int, rich: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response as the API returns it (`rich` only when it holds a rich message)."""
    shown = {"id": rid, "title": title, "text": text, "placeholders": placeholders(text), "updated_at": updated_at}
    return {**shown, "rich": rich} if rich is not None else shown


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder replaced by its value (`values` maps placeholder
    names such as "customer.name" to text). A placeholder without a value becomes
    the empty string; a name that is not a known placeholder stays as it is. One
    pass: a value that itself looks like a placeholder is not filled again."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _KNOWN:
            return match.group(0)
        return values.get(name) or ""

    return PLACEHOLDER.sub(replace, text)


def query_words(q: str) -> list[str]:
    """The words of a search: split at whitespace, compared without case."""
    if len(q) > QUERY_LIMIT:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"q is longer than {QUERY_LIMIT} characters")
    return q.casefold().split()


def matches(words: list[str], title: str, text: str) -> bool:
    """Every word appears in the title or the text, as part of a word too ("refund"
    is found by "ref"), so that the desk can search while the agent types."""
    title, text = title.casefold(), text.casefold()
    return all(w in title or w in text for w in words)


def listed(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Responses in list order: by title without case, then by id for equal titles."""
    return sorted(views, key=lambda v: (v["title"].casefold(), v["id"]))
