"""Webhooks without I/O: the registration schema, signing and verifying a delivery,
the retry schedule and the views the HTTP API answers with.

A delivery is signed the way the Standard Webhooks specification says
(standardwebhooks.com): headers `webhook-id` (the delivery id),
`webhook-timestamp` (whole seconds since the epoch) and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`), keyed with the
secret's bytes: a `whsec_<base64>` secret's decoded bytes. So a receiver
verifies it with the Standard Webhooks library of its language; `verify` here
does what they do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
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
#: A `whsec_` secret's key: this many bytes, at least and at most (the specification's range).
KEY_MIN, KEY_MAX = 24, 64
SECRET_PREFIX = "whsec_"
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

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


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
    try:  # as a resolver and an HTTP client will encode it: an empty or too long label fails
        parts.hostname.encode("idna")
    except UnicodeError:
        raise _bad("url's host is not a valid host name") from None
    if parts.fragment:
        raise _bad("url must not have a fragment")
    return url


def is_public(address: str) -> bool:
    """Whether a webhook may connect to this IP address: a global unicast one, never loopback,
    private, link-local (the cloud metadata address 169.254.169.254), shared, reserved or multicast."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
    if body.secret is not None:
        check_secret(body.secret)
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


def new_secret() -> str:
    """A secret for a webhook registered without one: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key: a `whsec_` secret's decoded bytes. A secret registered in the form
    of earlier versions (any printable text) signs with its UTF-8 bytes; its receivers
    give the library `base64(secret)`."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode()


def check_secret(secret: str) -> str:
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise _bad("a whsec_ secret must be whsec_ and standard base64") from None
        if not KEY_MIN <= len(key) <= KEY_MAX:
            raise _bad(f"a whsec_ secret must hold {KEY_MIN} to {KEY_MAX} bytes")
        return secret
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise _bad(f"secret must be {SECRET_MIN} to {SECRET_MAX} characters")
    if not secret.isascii() or not secret.isprintable():
        raise _bad("secret must be printable ASCII")
    return secret


def signature(secret: str, delivery: str, timestamp: int, body: bytes) -> str:
    """`v1,` and the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` keyed with the secret."""
    signed = f"{delivery}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(
    secret: str,
    body: bytes,
    delivery: str,
    timestamp: str,
    signature_header: str,
    now: float,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver does: the timestamp is recent and one `v1,` signature of the
    space-separated list matches."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = signature(secret, delivery, int(timestamp), body)
    return any(hmac.compare_digest(expected, given) for given in signature_header.split())


def delivery_id(event_id: str, webhook_id: str) -> str:
    """Stable across retries, nodes and replays: receivers de-duplicate on it."""
    return f"{event_id}.{webhook_id}"


def request_headers(secret: str, delivery: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt. Only the Standard Webhooks ones: the event's type is
    in the body, and the headers of earlier versions would only repeat these."""
    return {
        "Content-Type": "application/json",
        HEADER_ID: delivery,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, delivery, timestamp, body),
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
