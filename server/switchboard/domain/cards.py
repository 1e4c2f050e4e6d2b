"""The session card: derived from the stored session on every read, never stored."""

from __future__ import annotations

from typing import Any

import msgspec

from .states import Channel, EndReason, SessionStatus

#: the customer fields a card shows
CONTACT_FIELDS = ("name", "email", "phone", "external_id")
TITLES = {Channel.WEBCHAT: "Webchat", Channel.MESSAGING: "Messaging"}

STATUS_LABELS = {
    SessionStatus.BOT: "With a bot",
    SessionStatus.WAITING: "Waiting",
    SessionStatus.OFFERED: "Offered",
    SessionStatus.ACTIVE: "Active",
    SessionStatus.CONFERENCE: "Conference",
}

END_LABELS = {
    EndReason.CUSTOMER_ENDED: "Ended by customer",
    EndReason.CUSTOMER_ABANDONED: "Abandoned by customer",
    EndReason.AGENT_ENDED: "Ended by agent",
    EndReason.INACTIVITY_TIMEOUT: "Ended for inactivity",
    EndReason.QUEUE_TIMEOUT: "Queue wait timed out",
    EndReason.ERASED: "Erased",
    EndReason.API_ENDED: "Ended by automation",
}

WRAP_UP_TIMED_OUT_LABEL = "Wrap-up timed out"

CUSTOMER_ENDINGS = frozenset({EndReason.CUSTOMER_ENDED, EndReason.CUSTOMER_ABANDONED})


def color(status: SessionStatus, end_reason: EndReason | None, wrap_code: str | None) -> str:
    """blue while open or in wrap-up; white when the customer ended it and no code is
    given yet; gray once a wrap-up code is given (or the session closed without one)."""
    if wrap_code:
        return "gray"
    if end_reason in CUSTOMER_ENDINGS:
        return "white"
    if status is SessionStatus.CLOSED:
        return "gray"
    return "blue"


def status_label(status: SessionStatus, end_reason: EndReason | None, wrap_label: str | None) -> str:
    if wrap_label:
        return wrap_label
    if status in STATUS_LABELS:
        return STATUS_LABELS[status]
    if end_reason is not None:
        return END_LABELS[end_reason]
    return "Closed"


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "", False) else None


def _attributes(value: Any) -> dict[str, str]:
    """The session's attributes: a JSON object in the live view (and in the views PostgreSQL keeps)."""
    if isinstance(value, str):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {str(key): str(item) for key, item in value.items()}


def _list(value: Any) -> list[Any]:
    # Lua's cjson encodes an empty array as {}; both mean "none".
    return value if isinstance(value, list) else []


def build_card(data: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """A card from the session view the store returns (session fields plus
    `queue_name`, `agents`, `journey`, `customer`)."""
    status = SessionStatus(data["status"])
    end_reason = EndReason(data["end_reason"]) if data.get("end_reason") else None
    channel = Channel(data.get("channel") or Channel.WEBCHAT)
    wrap_code = data.get("wrap_code") or None
    wrap_label = data.get("wrap_label") or None
    wrapped = bool(data.get("wrapped_at"))
    queued_at = _int(data.get("queued_at")) or now_ms
    connected_at = _int(data.get("connected_at"))
    ended_at = _int(data.get("ended_at"))
    given = data.get("customer")
    customer: dict[str, Any] = given if isinstance(given, dict) else {}
    card: dict[str, Any] = {
        "conversation_id": data["conv"],
        "session_id": data["id"],
        **({"visitor_id": data["visitor"]} if data.get("visitor") else {}),
        "title": TITLES[channel],
        "channel": channel.value,
        "icon": "chat",
        "color": color(status, end_reason, wrap_code),
        "status": status.value,
        "status_label": status_label(status, end_reason, wrap_label if wrapped else None),
        "queue": {"id": data["queue"], "name": data.get("queue_name") or data["queue"]},
        "agents": _list(data.get("agents")),
        "customer": {
            **{k: v for k, v in customer.items() if k in CONTACT_FIELDS and v},
            "verified": data.get("verified") == "1",
        },
        "journey": _list(data.get("journey")),
        **({"attributes": attributes} if (attributes := _attributes(data.get("attributes"))) else {}),
        "queued_at": queued_at,
        "duration_s": max(0, ((ended_at or now_ms) - queued_at) // 1000),
    }
    if connected_at:
        card["connected_at"] = connected_at
    if ended_at:
        card["ended_at"] = ended_at
    if end_reason is not None:
        card["end_reason"] = end_reason.value
    if data.get("end_detail"):
        card["end_detail"] = data["end_detail"]
    if data.get("summary"):
        card["summary"] = data["summary"]
    if data.get("csat_rating"):
        csat: dict[str, Any] = {"rating": int(data["csat_rating"])}
        if data.get("csat_comment"):
            csat["comment"] = data["csat_comment"]
        card["csat"] = csat
    help_request = data.get("help")
    if isinstance(help_request, dict) and status is not SessionStatus.CLOSED:
        card["help"] = {k: v for k, v in help_request.items() if k in ("agent", "text")}
        card["help"]["requested_at"] = _int(help_request.get("at"))
    if wrapped:
        wrap_up: dict[str, Any] = {"code": wrap_code, "label": wrap_label or WRAP_UP_TIMED_OUT_LABEL}
        if data.get("wrap_notes"):
            wrap_up["notes"] = data["wrap_notes"]
        if _list(data.get("wrap_codes")):
            wrap_up["codes"] = [{"code": c["code"], "label": c["label"]} for c in data["wrap_codes"]]
        card["wrap_up"] = wrap_up
    return card
