"""Webhooks without I/O: the registration schema, signing and verifying a delivery,
the retry schedule and the views the HTTP API answers with.

A delivery is signed as `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the
timestamp being whole seconds since the epoch, sent beside it in a header; a
receiver recomputes it with `verify` (or the recipe in docs/protocol.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from .errors import ErrorCode, SwitchboardError
from .states import LifecycleEvent

#: A deployment has at most this many webhooks: every lifecycle event is checked
#: against each of them in one Redis step.
MAX_WEBHOOKS = 100
URL_LIMIT = 2048
DESCRIPTION_LIMIT = 500
SECRET_MIN, SECRET_MAX = 16, 256
#: Each webhook keeps its newest dead letters, up to this many.
DEAD_LETTER_LIMIT = 1000
#: Deliveries waiting for one webhook (in its lanes), at most; events beyond are
#: dropped and counted, so a receiver that is down for days cannot fill Redis.
MAX_PENDING = 100_000
#: Each webhook's deliveries run in this many lanes: one delivery in flight per
#: lane, in event order; the events of one conversation (or, without one, of one
#: agent) always share a lane, so they arrive in order.
LANES = 8
#: Bytes of a receiver's answer read at most (the body is not used).
RESPONSE_READ_LIMIT = 4096
#: A receiver should refuse a timestamp older than this.
SIGNATURE_TOLERANCE_S = 300

EVENT_TYPES = frozenset(e.value for e in LifecycleEvent)

HEADER_EVENT = "X-Switchboard-Event"
HEADER_DELIVERY = "X-Switchboard-Delivery"
HEADER_TIMESTAMP = "X-Switchboard-Timestamp"
HEADER_SIGNATURE = "X-Switchboard-Signature"


class WebhookBody(msgspec.Struct, forbid_unknown_fields=True):
    """The body of `POST /webhooks`."""

    url: str
    events: list[str] | None = None
    secret: str | None = None
    description: str | None = None


class Webhook(msgspec.Struct, omit_defaults=True):
    """A webhook as stored (the secret included)."""

    url: str
    secret: str
    created_at: int
    events: list[str] = []
    description: str = ""


def _bad(message: str) -> SwitchboardError:
    return SwitchboardError(ErrorCode.BAD_REQUEST, message)


def check_url(url: str) -> str:
    if len(url) > URL_LIMIT:
        raise SwitchboardError(ErrorCode.TOO_LONG, f"url is longer than {URL_LIMIT} characters")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise _bad("url must be ASCII without spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise _bad("url is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise _bad("url must start with http:// or https://")
    if not parts.hostname:
        raise _bad("url must name a host")
    if parts.fragment:
        raise _bad("url must not have a fragment")
    return url


def check_events(events: list[str] | None) -> list[str]:
    """The subscribed types, each once, in the order given; empty means all."""
    if not events:
        return []
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        raise _bad(f"unknown event type: {', '.join(sorted(set(unknown)))}")
    return list(dict.fromkeys(events))


def decode_body(raw: bytes) -> WebhookBody:
    try:
        body = msgspec.json.decode(raw or b"null", type=WebhookBody)
    except msgspec.ValidationError as exc:
        raise _bad(str(exc)) from None
    except msgspec.DecodeError:
        raise _bad("body must be a JSON object") from None
    check_url(body.url)
    body.events = check_events(body.events)
    if body.secret is not None and not SECRET_MIN <= len(body.secret) <= SECRET_MAX:
        raise _bad(f"secret must be {SECRET_MIN} to {SECRET_MAX} characters")
    if body.secret is not None and (not body.secret.isascii() or not body.secret.isprintable()):
        raise _bad("secret must be printable ASCII")
    if body.description is not None and len(body.description) > DESCRIPTION_LIMIT:
        raise SwitchboardError(ErrorCode.TOO_LONG, f"description is longer than {DESCRIPTION_LIMIT} characters")
    return body


class ReplayBody(msgspec.Struct, forbid_unknown_fields=True):
    """The optional body of `POST /webhooks/{id}/dead-letters/replay`."""

    ids: list[str] | None = None


def decode_replay(raw: bytes) -> list[str] | None:
    """The delivery ids to replay, or None for all."""
    if not raw.strip():
        return None
    try:
        body = msgspec.json.decode(raw, type=ReplayBody)
    except msgspec.ValidationError as exc:
        raise _bad(str(exc)) from None
    except msgspec.DecodeError:
        raise _bad("body must be a JSON object") from None
    if body.ids is not None and len(body.ids) > DEAD_LETTER_LIMIT:
        raise _bad(f"ids may list at most {DEAD_LETTER_LIMIT} deliveries")
    return body.ids


# ---------------------------------------------------------------- signing


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of `<timestamp>.<body>` keyed with the secret."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    signature_header: str,
    now: float,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver does: the timestamp is recent and one `v1=` signature matches."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = signature(secret, int(timestamp), body)
    return any(hmac.compare_digest(expected, s.strip()) for s in signature_header.split(","))


def delivery_id(event_id: str, webhook_id: str) -> str:
    """Stable across retries, nodes and replays: receivers de-duplicate on it."""
    return f"{event_id}.{webhook_id}"


def request_headers(
    secret: str,
    event_type: str,
    delivery: str,
    timestamp: int,
    body: bytes,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        HEADER_EVENT: event_type,
        HEADER_DELIVERY: delivery,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, timestamp, body),
    }


# ---------------------------------------------------------------- retries


def retry_delay_s(failures: int, base_s: float, cap_s: float, jitter: float = 0.0, rand: float = 1.0) -> float:
    """Wait before the next attempt after `failures` failed ones: base, 2×base,
    4×base, ... capped; with jitter j, scaled by 1 - j × rand (rand in [0, 1))."""
    delay: float = min(cap_s, base_s * 2 ** min(max(failures - 1, 0), 62))
    return delay * (1 - jitter * rand)


# ---------------------------------------------------------------- views


def view(webhook_id: str, hook: Webhook, figures: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook as the API shows it: never the secret."""
    return {
        "id": webhook_id,
        "url": hook.url,
        "events": hook.events,
        "description": hook.description,
        "created_at": hook.created_at,
        **figures,
    }
