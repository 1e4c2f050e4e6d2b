"""Conversation search, the pure parts: the tokenizer, the paging cursor, the card filter.

The index (store/search.py) keeps, per word, the conversations whose messages or
customer fields hold it. The same tokenizer cuts the texts that are indexed and
the query, so a query word is found exactly when it was indexed.
"""

from __future__ import annotations

import re
from typing import Any

from .config import ID_PATTERN
from .errors import ErrorCode, SwitchboardError
from .parameters import bounded_int
from .states import SessionStatus

MIN_WORD = 2
MAX_WORD = 40
#: Distinct words taken from one text; the rest of a very long text is not indexed
#: (the customer and agent text limits make this about the first 200 words).
MAX_WORDS = 200
QUERY_LIMIT = 500

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

#: Unicode letters, digits and "_". Accents are kept: "café" is not found by "cafe".
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The distinct words of `text`, without case, in order of first appearance. Words
    of one character (too common to narrow anything) and longer than 40 (hashes,
    URLs, noise) are left out, which keeps the index small."""
    out: dict[str, None] = {}
    for match in _WORD.finditer(text.casefold()):
        word = match.group(0)
        if MIN_WORD <= len(word) <= MAX_WORD:
            out[word] = None
            if len(out) == MAX_WORDS:
                break
    return list(out)


def query_words(q: str) -> list[str]:
    """The words a conversation must all hold to match `q`."""
    if len(q) > QUERY_LIMIT:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"q is longer than {QUERY_LIMIT} characters")
    found = words(q)
    if not found:
        raise SwitchboardError(
            ErrorCode.BAD_REQUEST,
            f"q must hold a word of {MIN_WORD} to {MAX_WORD} letters or digits",
        )
    return found


def parse_state(value: str) -> SessionStatus:
    try:
        return SessionStatus(value)
    except ValueError:
        raise SwitchboardError(
            ErrorCode.BAD_REQUEST, f"state must be one of {', '.join(s.value for s in SessionStatus)}"
        ) from None


def parse_limit(value: str | None) -> int:
    return bounded_int(value, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


# A position in a page's order: (an integer the order is by, conversation id): the
# last activity in ms, or a query's rank and activity (record/search.py). Two
# conversations with the same integer are ordered by id, so the order is total and
# a page never repeats or skips one because of a tie.
Position = tuple[int, str]


def encode_cursor(position: Position) -> str:
    return f"{position[0]}:{position[1]}"


def decode_cursor(cursor: str) -> Position:
    score, _, cid = cursor.partition(":")
    if not (score.isdigit() and len(score) <= 18 and ID_PATTERN.match(cid)):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "cursor must be a `next` value from an earlier page")
    return int(score), cid


def after(position: Position, cursor: Position | None) -> bool:
    """Whether `position` comes after `cursor` in the newest-first order."""
    return cursor is None or position < cursor


def card_matches(card: dict[str, Any], state: SessionStatus | None, queue: str | None) -> bool:
    return (state is None or card["status"] == state.value) and (queue is None or card["queue"]["id"] == queue)
