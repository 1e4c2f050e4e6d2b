"""Attachments: which files a queue takes, what a file is (from its bytes), its name, and its signed URLs.

The type is decided from the bytes alone, never from the name or the client's
`Content-Type`: `filetype` reads the magic numbers of the binary formats; plain
text is UTF-8 without NULs that does not open like markup (HTML, XML, SVG), which
a browser could be talked into running. A download URL is a capability: the
attachment's id, what is fetched (the file or its thumbnail) and an expiry,
signed with the deployment's secret, so only those given a URL can fetch, and
not for long.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, Literal

import filetype
import msgspec


class MediaType(StrEnum):
    PNG = "image/png"
    JPEG = "image/jpeg"
    GIF = "image/gif"
    WEBP = "image/webp"
    PDF = "application/pdf"
    TEXT = "text/plain"

    @property
    def is_image(self) -> bool:
        return self.value.startswith("image/")


DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: the most a queue may allow for one file (PostgreSQL keeps the bytes)
MAX_MAX_BYTES = 50 * 1024 * 1024
#: an image of more pixels is refused before it is decoded (a decompression bomb is a few KB on the wire)
MAX_IMAGE_PIXELS = 40_000_000
#: the longer side of a thumbnail, in pixels
THUMBNAIL_SIZE = 320
MAX_NAME_LENGTH = 200
#: Variant of a signed URL: the file itself or its thumbnail.
Variant = Literal["file", "thumbnail"]


class AttachmentLimits(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A queue's `attachments`: the largest file, and the types it takes."""

    max_bytes: Annotated[int, msgspec.Meta(ge=1, le=MAX_MAX_BYTES)] = DEFAULT_MAX_BYTES
    types: Annotated[list[MediaType], msgspec.Meta(max_length=len(MediaType))] = msgspec.field(
        default_factory=lambda: list(MediaType)
    )


class AttachmentRef(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """What a message of kind `attachment` and an upload's answer say of the file. The URLs
    are signed and expire (SWITCHBOARD_ATTACHMENT_URL_TTL_S); a fresh pair comes with each
    read of the conversation and each resume. Only an image has a `thumbnail_url`."""

    id: str
    name: str
    size: int
    type: MediaType
    url: str
    thumbnail_url: str | msgspec.UnsetType = msgspec.UNSET


#: What `filetype` names the binary types we take; anything else it recognises is refused.
_DETECTED = {
    "image/png": MediaType.PNG,
    "image/jpeg": MediaType.JPEG,
    "image/gif": MediaType.GIF,
    "image/webp": MediaType.WEBP,
    "application/pdf": MediaType.PDF,
}
#: How HTML and XML open, as the WHATWG MIME Sniffing standard lists it ("sniff a mislabeled
#: binary resource" and "rules for identifying an unknown MIME type"), plus SVG: text that opens
#: so is markup, which a browser may run, not plain text.
_MARKUP = re.compile(
    rb"^\s*(<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|<title|<b|<body|<br|<p"
    rb"|<svg|<math)[\s>/]|^\s*(<!--|<\?xml)",
    re.IGNORECASE,
)
_UTF8_BOM = b"\xef\xbb\xbf"


def sniff(head: bytes, whole: bytes | None = None) -> MediaType | None:
    """The type of a file from its bytes (`head`: at least its first 8 KB; `whole`: every byte, needed
    to tell plain text); None when it is none of ours."""
    detected = filetype.guess_mime(head)
    if detected is not None:
        return _DETECTED.get(detected)
    data = head if whole is None else whole
    if b"\0" in data or _MARKUP.match(data.removeprefix(_UTF8_BOM)):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return MediaType.TEXT


def clean_name(given: str) -> str:
    """A file name fit to show and to send in `Content-Disposition`: no path, no control or
    format characters, trimmed, at most MAX_NAME_LENGTH characters (the extension kept)."""
    base = re.split(r"[/\\]", given)[-1]
    shown = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in base)
    shown = " ".join(shown.split()).strip(". ")
    if len(shown) > MAX_NAME_LENGTH:
        stem, dot, extension = shown.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            shown = stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            shown = shown[:MAX_NAME_LENGTH].rstrip()
    return shown or "file"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class UrlSigner:
    """Signs and checks the download URLs of attachments (HMAC-SHA256 with a key of its own)."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"switchboard-attachments\0" + secret.encode()).digest()

    def signature(self, attachment_id: str, variant: Variant, expires_s: int) -> str:
        payload = f"{attachment_id}\0{variant}\0{expires_s}".encode()
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def url(self, attachment_id: str, variant: Variant, expires_s: int) -> str:
        path = f"/api/v1/attachments/{attachment_id}" + ("/thumbnail" if variant == "thumbnail" else "")
        return f"{path}?exp={expires_s}&sig={self.signature(attachment_id, variant, expires_s)}"

    def valid(self, attachment_id: str, variant: Variant, expires_s: int, signature: str, now_s: float) -> bool:
        expected = self.signature(attachment_id, variant, expires_s)
        return expires_s >= now_s and hmac.compare_digest(signature.encode(), expected.encode())

    def ref(
        self, attachment_id: str, name: str, size: int, media_type: MediaType, has_thumbnail: bool, expires_s: int
    ) -> AttachmentRef:
        return AttachmentRef(
            id=attachment_id,
            name=name,
            size=size,
            type=media_type,
            url=self.url(attachment_id, "file", expires_s),
            thumbnail_url=self.url(attachment_id, "thumbnail", expires_s) if has_thumbnail else msgspec.UNSET,
        )

    def refresh(self, frames: list[dict[str, Any]], expires_s: int) -> list[dict[str, Any]]:
        """History frames as a party gets them: each attachment's URLs signed afresh (those stored
        with the message expired long ago); a redacted message has no attachment left to sign."""
        for frame in frames:
            attachment = frame.get("attachment")
            if isinstance(attachment, dict) and isinstance(attachment.get("id"), str):
                attachment["url"] = self.url(attachment["id"], "file", expires_s)
                if "thumbnail_url" in attachment:
                    attachment["thumbnail_url"] = self.url(attachment["id"], "thumbnail", expires_s)
        return frames
