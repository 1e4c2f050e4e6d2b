"""The signed URLs of attachments, minted afresh whenever history goes to a party.

A URL stored with its message expires (SWITCHBOARD_ATTACHMENT_URL_TTL_S), so what
reads the history for someone allowed to see it (a resume, a supervisor's
monitoring, `GET /api/v1/conversations/{id}`) signs each attachment again; an old
message still opens, and a URL copied out of the chat stops working.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ..domain.attachments import UrlSigner
from ..settings import Settings


def url_signer(settings: Settings) -> UrlSigner:
    return UrlSigner(settings.secret or "")


def url_expiry(settings: Settings) -> int:
    """When URLs signed now expire (seconds since the epoch)."""
    return math.ceil(time.time() + settings.attachment_url_ttl_s)


def signed_afresh(settings: Settings, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return url_signer(settings).refresh(frames, url_expiry(settings))
