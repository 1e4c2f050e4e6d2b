"""Attachments: a party of a live conversation uploads a file, which becomes a message of kind
`attachment`; whoever holds the message's signed URL downloads it.

The upload is read under its queue's size limit as it arrives (a larger body is refused
before it is all read), its type is decided from its bytes (domain/attachments.py), an
image is re-encoded without its metadata (gateway/images.py), and the file is written
to PostgreSQL before its message goes through Redis like any other, so every party's
socket gets it and a resume replays it. A download is served so that no browser runs
it: its stored type, `nosniff`, a sandboxing CSP, and inline only for images and PDF.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from python_multipart.exceptions import MultipartParseError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from ...domain.attachments import AttachmentLimits, AttachmentRef, MediaType, Variant, clean_name, sniff
from ...domain.errors import ErrorCode, SwitchboardError
from ...record.attachments import AttachmentFiles, StoredFile
from ...record.database import RECORD_ERRORS
from ...store.errors import ConversationEnded
from ..attachment_urls import url_expiry, url_signer
from ..auth import new_id
from ..images import reencode
from .common import JSON, error_body, found, path_id, services_of
from .openapi import ApiRoute, Body, Operation, Param
from .principals import agent_of

#: What a multipart body may add to the file it carries (boundaries, part headers, the name).
MULTIPART_OVERHEAD = 16 * 1024
#: How long a client waits after a 503 (PostgreSQL away) before it tries again.
RETRY_AFTER_S = 5
#: The bytes `filetype` needs to know a type.
SNIFFED_BYTES = 8192


@dataclass(frozen=True, slots=True)
class Uploader:
    role: str  # customer or agent
    id: str
    display_name: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.id}"


class UploadForm(msgspec.Struct):
    """`multipart/form-data` with the file in the part named `file` (its file name is shown, cleaned)."""

    file: Annotated[str, msgspec.Meta(extra_json_schema={"format": "binary"})]


async def _uploader(request: Request, cid: str) -> tuple[Uploader, str]:
    """Who uploads (the visitor or agent of the `Authorization` token) and the conversation's
    visitor: 401 without a valid token, 404 for an unknown conversation, 403 unless a party
    of its live session."""
    s = services_of(request)
    given = request.headers.get("authorization", "")
    token = given.removeprefix("Bearer ")
    vid = s.signer.verify_visitor(token) if token != given else None
    aid = await agent_of(s, given) if vid is None else None
    if vid is None and aid is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a valid visitor or agent token is required")
    visitor, agents, is_open = found(await s.directory.conversation_parties(cid), "no such conversation")
    if aid is not None:
        if aid not in agents:
            raise SwitchboardError(ErrorCode.FORBIDDEN, "you are not connected to this conversation")
        profile = await s.directory.agent_profile(aid) or {}
        return Uploader("agent", aid, str(profile.get("display_name") or "")), visitor
    if vid != visitor or not is_open:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "you are not in a live chat of this conversation")
    session = await s.directory.current_session(cid)
    cards = await s.router.session_cards([session]) if session else []
    name = str(((cards[0] if cards else {}).get("customer") or {}).get("name") or "")
    return Uploader("customer", visitor, name), visitor


async def _limits(request: Request, cid: str) -> AttachmentLimits:
    s = services_of(request)
    queue, _channel = await s.directory.conversation_route(cid)
    config = await s.directory.queue_config(queue) if queue else None
    return config.attachments if config is not None else AttachmentLimits()


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    """The body, refused (413) as soon as more than `limit` bytes arrived."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise SwitchboardError(ErrorCode.TOO_LARGE, f"the file is larger than {limit - MULTIPART_OVERHEAD} bytes")
        yield chunk


async def _read_file(request: Request, limits: AttachmentLimits) -> tuple[str, bytes]:
    """The name and bytes of the `file` part, read under the limit."""
    too_large = SwitchboardError(ErrorCode.TOO_LARGE, f"the file is larger than {limits.max_bytes} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes + MULTIPART_OVERHEAD:
        raise too_large  # said up front: not a byte of it is read
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "the body must be multipart/form-data with a part `file`")
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), limits.max_bytes + MULTIPART_OVERHEAD), max_files=1, max_fields=8
    )
    try:
        form = await parser.parse()
    except (MultiPartException, MultipartParseError) as exc:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"a bad multipart body: {exc}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise SwitchboardError(ErrorCode.BAD_REQUEST, "the body has no file in a part named `file`")
        if upload.size is not None and upload.size > limits.max_bytes:
            raise too_large
        data = await upload.read()
        if len(data) > limits.max_bytes:
            raise too_large
        if not data:
            raise SwitchboardError(ErrorCode.BAD_REQUEST, "the file is empty")
        return clean_name(upload.filename or ""), data
    finally:
        await form.close()


def _unavailable() -> Response:
    body = error_body(ErrorCode.UNAVAILABLE, "the database is not reachable; try again")
    return JSON(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


async def upload_attachment(request: Request) -> Response:
    """A party of the conversation's live session sends a file: the customer with its visitor token,
    an agent connected to it with its agent token. The file becomes a message of kind `attachment`."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    uploader, visitor = await _uploader(request, cid)
    limits = await _limits(request, cid)
    name, data = await _read_file(request, limits)
    media_type = sniff(data[:SNIFFED_BYTES], data)
    if media_type is None or media_type not in limits.types:
        taken = ", ".join(t.value for t in limits.types)
        seen = media_type.value if media_type is not None else "none of these"
        raise SwitchboardError(ErrorCode.UNSUPPORTED_TYPE, f"this chat takes {taken}; the file is {seen}")
    thumbnail = None
    if media_type.is_image:
        image = await run_in_threadpool(reencode, data, media_type)
        data, thumbnail = image.content, image.thumbnail
    stored = StoredFile(new_id("att"), cid, visitor, uploader.actor, name, media_type, len(data), data, thumbnail)
    files = AttachmentFiles(s.database)
    try:
        await files.put(stored)
    except RECORD_ERRORS:
        return _unavailable()
    expires = url_expiry(s.settings)
    ref = url_signer(s.settings).ref(stored.id, name, stored.size, media_type, thumbnail is not None, expires)
    try:
        posted = await s.router.post_message(
            cid,
            uploader.role,
            uploader.id,
            uploader.display_name,
            name,
            extras={"attachment": msgspec.to_builtins(ref)},
        )
        if posted.get("bot_hook"):  # a file sent to a webhook bot: it hears of it as of any message
            s.bot_webhooks.customer_wrote(cid, posted["seq"])
    except ConversationEnded:
        await files.forget(stored.id)
        raise SwitchboardError(ErrorCode.FORBIDDEN, "the chat has ended") from None
    except SwitchboardError:
        await files.forget(stored.id)
        raise
    return JSON(ref, status_code=201)


async def _download(request: Request, variant: Variant) -> Response:
    aid = path_id(request, "attachment")
    params = request.query_params
    expires, signature = params.get("exp", ""), params.get("sig", "")
    if not expires or not signature:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a signed URL is required (`exp` and `sig`)")
    if not (expires.isdigit() and len(expires) <= 12) or not url_signer(services_of(request).settings).valid(
        aid, variant, int(expires), signature, time.time()
    ):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "this link is not valid, or it expired: open the chat again")
    download = found(
        await AttachmentFiles(services_of(request).database).download(aid, variant == "thumbnail"),
        "no such attachment",
    )
    inline = download.media_type.startswith("image/") or download.media_type == MediaType.PDF.value
    disposition = "inline" if inline else "attachment"
    # RFC 6266 / 5987: an ASCII fallback and the name itself, percent-encoded
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\' else "_" for ch in download.name)
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(download.name)}",
        "X-Content-Type-Options": "nosniff",
        # an image may be drawn (img-src 'self' data:), nothing runs; PDF viewers need no more
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
        "Cache-Control": "private, max-age=300",
    }
    media = download.media_type + ("; charset=utf-8" if download.media_type == MediaType.TEXT.value else "")
    return Response(download.content, media_type=media, headers=headers)


async def download_attachment(request: Request) -> Response:
    """The file, to whoever holds a signed URL of it: the URL is the capability (given with the
    conversation's messages to its parties and supervisors), until it expires."""
    return await _download(request, "file")


async def download_thumbnail(request: Request) -> Response:
    """An image's thumbnail (WebP, at most 320 px), to whoever holds a signed URL of it."""
    return await _download(request, "thumbnail")


class UploadCors:
    """ASGI middleware: the widget uploads from the host site's pages, another origin than the
    node's. Uploads authenticate with a bearer token, never a cookie, so a page of any origin may
    send one (it needs the token to get anywhere): the preflight is answered here and every answer
    of the upload route is readable cross-origin (a 413 or 415 is told to the customer)."""

    PATH = re.compile(r"^/api/v1/conversations/[^/]+/attachments$")
    ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = [
                self.ALLOW_ORIGIN,
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", b"authorization"),
                (b"access-control-max-age", b"600"),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return

        async def readable(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.ALLOW_ORIGIN]}
            await send(message)

        await self.app(scope, receive, readable)


_SIGNED = [
    Param("exp", Annotated[int, msgspec.Meta(ge=0, le=10**12)], "when the URL expires (seconds since the epoch)"),
    Param("sig", Annotated[str, msgspec.Meta(max_length=64)], "the URL's signature"),
]
_DOWNLOAD_ERRORS = {
    400: "a bad id",
    401: "no signature (`exp` and `sig` of a signed URL)",
    403: "a forged or expired signature",
    404: "no such attachment (deleted with its conversation)",
}
_FILE = Annotated[str, msgspec.Meta(extra_json_schema={"format": "binary"})]
_TYPES = (*(t.value for t in MediaType if t is not MediaType.TEXT), "text/plain; charset=utf-8")

routes = [
    ApiRoute(
        "/api/v1/conversations/{id}/attachments",
        upload_attachment,
        "POST",
        Operation(
            "Send a file",
            {201: AttachmentRef},
            request=UploadForm,
            request_media_type="multipart/form-data",
            access="party",
            tag="attachments",
            errors={
                400: "a bad id, or a body that is not multipart with a part `file`",
                403: "not the conversation's customer in a live chat, nor an agent connected to it",
                404: "no such conversation",
                413: "a file larger than the queue's `attachments.max_bytes` (or an image of too many pixels)",
                415: "a type the queue does not take, or bytes of no type taken (decided from the bytes)",
                503: "PostgreSQL is not reachable (`Retry-After` says when to retry)",
            },
        ),
    ),
    ApiRoute(
        "/api/v1/attachments/{id}",
        download_attachment,
        "GET",
        Operation(
            "Download a file",
            {200: Body(_TYPES, _FILE, "the file, with its stored type")},
            params=_SIGNED,
            errors=_DOWNLOAD_ERRORS,
        ),
    ),
    ApiRoute(
        "/api/v1/attachments/{id}/thumbnail",
        download_thumbnail,
        "GET",
        Operation(
            "Download an image's thumbnail",
            {200: Body("image/webp", _FILE, "the thumbnail")},
            params=_SIGNED,
            errors=_DOWNLOAD_ERRORS,
        ),
    ),
]
