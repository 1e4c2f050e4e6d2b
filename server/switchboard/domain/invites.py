"""Proactive invitations, the pure parts: invite rules, their URL patterns, request bodies.

A rule's `url_pattern` is a glob over the whole URL: `*` stands for any run of
characters (none included, `/` and `?` included); every other character stands
for itself, case-sensitively. `?`, `[` and `]` are plain characters because URLs
are full of them. A pattern compiles to its literal pieces and matches with
plain substring searches, never a regular expression, so no pattern can make a
match slow: the work is bounded by the lengths of the URL and the pattern.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from .config import ID_PATTERN, decode_config
from .errors import ErrorCode, SwitchboardError
from .frames import check_text, text_rules

PATTERN_LIMIT = 500
TEXT_LIMIT = 500
MAX_SECONDS_ON_PAGE = 86400
#: A deployment keeps at most this many rules: every node matches each page view
#: against all of them.
MAX_RULES = 500

QueueId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern)]


@dataclass(frozen=True)
class UrlPattern:
    """A compiled glob: the literal pieces between its stars."""

    pieces: tuple[str, ...]

    @classmethod
    def compile(cls, pattern: str) -> UrlPattern:
        if not pattern.strip():
            raise SwitchboardError(ErrorCode.BAD_REQUEST, "url_pattern must not be empty")
        if len(pattern) > PATTERN_LIMIT:
            raise SwitchboardError(ErrorCode.TOO_LONG, f"url_pattern is longer than {PATTERN_LIMIT} characters")
        return cls(tuple(pattern.split("*")))

    def matches(self, url: str) -> bool:
        if len(self.pieces) == 1:
            return url == self.pieces[0]
        first, *middle, last = self.pieces
        end = len(url) - len(last)
        if end < len(first) or not url.startswith(first) or not url.endswith(last):
            return False
        # The leftmost place of each middle piece leaves the most room for the rest.
        at = len(first)
        for piece in middle:
            found = url.find(piece, at, end)
            if found < 0:
                return False
            at = found + len(piece)
        return True


class InviteRuleBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The body of `PUT /invite-rules/{id}`."""

    queue: QueueId
    url_pattern: Annotated[str, msgspec.Meta(extra_json_schema=text_rules(PATTERN_LIMIT))]
    seconds_on_page: Annotated[float, msgspec.Meta(ge=0, le=MAX_SECONDS_ON_PAGE)]
    text: Annotated[str, msgspec.Meta(extra_json_schema=text_rules(TEXT_LIMIT))]
    enabled: bool = True
    only_when_agents_available: bool = True


class InviteBody(msgspec.Struct, forbid_unknown_fields=True):
    """The body of `POST /visitors/{visitor_id}/invite`."""

    queue: QueueId
    text: Annotated[str, msgspec.Meta(extra_json_schema=text_rules(TEXT_LIMIT))]


@dataclass(frozen=True)
class InviteRule:
    """A stored rule, compiled for matching page views."""

    id: str
    body: InviteRuleBody
    pattern: UrlPattern

    def wants(self, url: str) -> bool:
        return self.body.enabled and self.pattern.matches(url)


def decode_rule(raw: bytes) -> InviteRuleBody:
    """A checked rule body, or a refusal naming what is wrong."""
    body = decode_config(raw, InviteRuleBody)
    UrlPattern.compile(body.url_pattern)
    check_text(body.text, TEXT_LIMIT)
    return body


def decode_invite(raw: bytes) -> InviteBody:
    body = decode_config(raw, InviteBody)
    check_text(body.text, TEXT_LIMIT)
    return body


def compile_rule(rid: str, body: InviteRuleBody) -> InviteRule:
    return InviteRule(rid, body, UrlPattern.compile(body.url_pattern))


def rule_view(rid: str, body: InviteRuleBody, updated_at: int) -> dict[str, Any]:
    return {"id": rid, **msgspec.structs.asdict(body), "updated_at": updated_at}
