"""What every client socket shares: handshake, the receive loop, ordered sending, errors.

The loop reads like a protocol's `data_received`: decode a frame into a typed
command, call the handler, answer `ack` or `error`. Nothing here knows Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..domain.admission import origin_allowed
from ..domain.errors import CloseCode, ErrorCode, FieldError, SwitchboardError
from ..domain.frames import Ack, Error, Frame
from ..store.results import ChatStarted, MessagePosted
from .codec import Codec, choose_subprotocol
from .hub import Push
from .limits import FrameRate, Refusal, client_address, origin_refusal

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

_CLOSE = object()

#: The close reason when pushes to a socket may have been lost (the node's
#: pub/sub connection to the store broke): resuming replays them from history.
RESUME_REASON = "updates were interrupted; reconnect and resume"
SHUTDOWN_REASON = "server shutting down"


#: What a command's handler answers: the result fields of its `ack`, or the `ack` itself (built with its
#: fields named, which is quicker than from a dict: the message path does so).
Result = Ack | Mapping[str, Any] | None


def posted(ref: str | None, stored: MessagePosted | ChatStarted) -> Ack:
    """The `ack` of a message or note the store accepted."""
    return Ack(ref=ref or "", message_id=stored["message_id"], seq=stored["seq"])


class HandshakeRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ClientSocket:
    """One accepted WebSocket. Subclasses implement `hello` and `handle`."""

    command_type: Any = None
    hello_type: type = object
    role = "client"
    kind = ""  # "a" (agent) or "v" (visitor): whose presence this socket is
    ident = ""  # the agent or visitor id, known after hello
    token_version = ""
    _connected = False

    def __init__(self, websocket: WebSocket, services: Services) -> None:
        self.ws = websocket
        self.services = services
        self.settings = services.settings
        self.subprotocol = choose_subprotocol(websocket.scope.get("subprotocols") or [])
        self.codec = Codec.for_(self.subprotocol, self.command_type)
        self.conn_id = f"{self.settings.node_id}:{id(self):x}"
        # A deque and a future made only while the writer waits, not an asyncio.Queue:
        # this is per open socket, and a Queue alone weighs some 3 KB.
        self._outbox: deque[Any] = deque()
        self._outbox_filled: asyncio.Future[None] | None = None
        self._buffered: list[Push] | None = []  # pushes held back until the welcome is out
        self._replayed: dict[str, int] = {}  # highest seq replayed per conversation
        self._closing = False
        self._handling = False  # a command is being handled
        self._leaving: str | None = None  # close with 1001 and this reason once it is
        self._bad_frames = 0

    # ------------------------------------------------------------ sending

    def send(self, frame: Frame | dict[str, Any]) -> None:
        """Frames the gateway builds are structs (domain/frames/outgoing.py); history replayed from the
        store comes as the dicts it stored."""
        self._put(self.codec.encode(frame))

    def replayed(self, conversation_id: str, seq: int) -> None:
        """History up to `seq` went out by replay; a live push of it is a double."""
        if seq > self._replayed.get(conversation_id, 0):
            self._replayed[conversation_id] = seq

    def push(self, push: Push) -> None:
        if push.frame.get("type") == "token.revoked":  # an order to this node, never forwarded
            if push.frame.get("version") != self.token_version:
                self.close(CloseCode.UNAUTHORIZED, str(push.frame.get("reason") or "token revoked"))
            return
        if self._buffered is not None:
            self._buffered.append(push)
            return
        frame = push.frame
        seq = frame.get("seq")
        if seq is not None and seq <= self._replayed.get(frame.get("conversation_id", ""), 0):
            return
        self.on_push(frame)
        self._put(push.send_message(self.codec.binary))

    def on_push(self, frame: dict[str, Any]) -> None:
        """Hook: a subclass may track state from frames pushed to it."""

    def release_buffered(self) -> None:
        buffered, self._buffered = self._buffered or [], None
        for push in buffered:
            self.push(push)

    def _put(self, message: Any) -> None:
        if self._closing:
            return
        if len(self._outbox) >= self.settings.send_queue_limit:
            # A client that does not read cannot hold the node's memory: it resumes later.
            log.warning("%s %s: send queue full, closing", self.role, self.conn_id)
            self.close(CloseCode.POLICY_VIOLATION, "too slow")
            return
        self._outbox.append(message)
        self._wake_writer()

    def _wake_writer(self) -> None:
        waiter = self._outbox_filled
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self, code: int, reason: str = "", flush: bool = False) -> None:
        """Closes after the frames queued so far (`flush`) or instead of them."""
        if self._closing:
            return
        self._closing = True
        if not flush:
            self._outbox.clear()
        self._outbox.append((_CLOSE, code, reason))
        self._wake_writer()

    def go_away(self, reason: str) -> None:
        """Closes with 1001, the client's cue to reconnect (here or to another node)
        and resume by `seq`; a command being handled finishes and is answered first."""
        if self._handling:
            self._leaving = reason
        else:
            self.close(CloseCode.GOING_AWAY, reason, flush=True)

    def interrupted(self) -> None:
        self.go_away(RESUME_REASON)

    async def _write(self) -> None:
        send = self.ws.send
        outbox = self._outbox
        loop = asyncio.get_running_loop()
        while True:
            while outbox:
                message = outbox.popleft()
                if isinstance(message, tuple) and message[0] is _CLOSE:
                    await self.ws.close(message[1], message[2])
                    return
                await send(message)
            self._outbox_filled = loop.create_future()
            try:
                await self._outbox_filled
            finally:
                self._outbox_filled = None

    def ack(self, ref: str | None, result: Result = None) -> None:
        if ref is None:
            return
        if isinstance(result, Ack):
            self.send(result)
        else:
            self.send(Ack(ref=ref, **result) if result else Ack(ref=ref))

    def error(self, ref: str | None, code: ErrorCode, message: str, field: str | None = None) -> None:
        self.send(Error(code=code.value, message=message, ref=UNSET if ref is None else ref, field=field or UNSET))

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        gate = self.services.gate
        ip = client_address(self.ws.scope)
        refusal = await gate.admit(ip)
        if refusal is not None:
            await self._refuse(refusal)
            return
        try:
            if not await self.origin_allowed(self.ws.headers.get("origin")):
                await self._refuse(origin_refusal())
                return
            await self.ws.accept(subprotocol=self.subprotocol)
            await self._serve()
        finally:
            gate.release(ip)

    async def origin_allowed(self, origin: str | None) -> bool:
        """SWITCHBOARD_ALLOWED_ORIGINS, and pages this server served itself. Browsers
        always send Origin; only a browser page can be a cross-site attacker, so a
        handshake without one is not refused."""
        return origin_allowed(origin, self.settings.allowed_origins, self.ws.headers.get("host"))

    async def _refuse(self, refusal: Refusal) -> None:
        """A foreign Origin is refused before accept (uvicorn answers HTTP 403). A
        client over a per-address limit is accepted and closed at once with 1013 (try
        again later), so it can tell a busy address from a forbidden page. (An HTTP 429
        answer would need the denial-response extension, which uvicorn's
        websockets-sansio protocol logs as an error.)"""
        log.debug("%s handshake refused: %s", self.role, refusal.message)
        if refusal.close_code == CloseCode.ORIGIN_FORBIDDEN:
            await self.ws.close(CloseCode.ORIGIN_FORBIDDEN, refusal.message)
            return
        await self.ws.accept(subprotocol=self.subprotocol)
        await self.ws.close(refusal.close_code, refusal.message)

    async def _serve(self) -> None:
        try:
            first = await asyncio.wait_for(self.ws.receive(), self.settings.hello_timeout_s)
        except TimeoutError:
            await self.ws.close(CloseCode.UNAUTHORIZED, "no hello")
            return
        if first["type"] == "websocket.disconnect":
            return
        try:
            hello = self.codec.decode(first)
            if not isinstance(hello, self.hello_type):
                raise HandshakeRefused(CloseCode.UNAUTHORIZED, "the first frame must be hello")
            await self.hello(hello)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await self.ws.close(CloseCode.UNAUTHORIZED, "the first frame must be a valid hello")
            return
        except HandshakeRefused as refused:
            await self.ws.close(refused.code, refused.reason)
            return
        except SwitchboardError as exc:
            if exc.code is ErrorCode.UNAUTHORIZED:
                await self.ws.close(CloseCode.UNAUTHORIZED, exc.message)
            else:
                await self.ws.close(1011, exc.message[:120])
            await self.goodbye()
            return
        writer = asyncio.create_task(self._write(), name=f"writer-{self.conn_id}")
        self.services.local.sockets.add(self)
        try:
            await self._receive_loop(writer)
        finally:
            self.services.local.sockets.discard(self)
            await self.goodbye()
            writer.cancel()
            try:
                await writer
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # the peer went away mid-send: nothing left to tell it
                log.debug("%s %s: writer ended: %r", self.role, self.conn_id, exc)

    async def _receive_loop(self, writer: asyncio.Task[None]) -> None:
        receive = self.ws.receive
        rate = self.frame_rate()
        while not writer.done():
            try:
                message = await receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            if self._closing:
                continue  # the close is on its way; nothing more is answered
            if not rate.admit():
                if rate.abusive:
                    self.close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")
                else:
                    self.error(
                        self._ref_of(message),
                        ErrorCode.RATE_LIMITED,
                        f"too many frames: at most {self.settings.frames_per_s:g} per second",
                    )
                continue
            self._handling = True
            try:
                await self._frame(message)
            finally:
                self._handling = False
            if self._leaving is not None:
                self.close(CloseCode.GOING_AWAY, self._leaving, flush=True)

    async def _frame(self, message: Mapping[str, Any]) -> None:
        ref = None
        try:
            command = self.codec.decode(message)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            ref = self._ref_of(message)
            self._bad_frames += 1
            if self._bad_frames > self.settings.max_bad_frames:
                self.close(CloseCode.POLICY_VIOLATION, "repeated protocol violations")
                return
            self.error(ref, ErrorCode.BAD_REQUEST, _schema_message(exc))
            return
        ref = command.ref
        try:
            result = await self.handle(command)
            self._bad_frames = 0
            self.ack(ref, result)
        except SwitchboardError as exc:
            self.error(ref, exc.code, exc.message, exc.field if isinstance(exc, FieldError) else None)
        except Exception:
            log.exception("%s %s: %s failed", self.role, self.conn_id, type(command).__name__)
            self.error(ref, ErrorCode.INTERNAL, "internal error")

    def frame_rate(self) -> FrameRate:
        """This socket's frame budget: the settings' (a bot socket has its own)."""
        return FrameRate(self.settings)

    def _ref_of(self, message: Mapping[str, Any]) -> str | None:
        try:
            ref = self.codec.decode_any(message).get("ref")
        except Exception:
            return None
        return ref if isinstance(ref, str) and len(ref) <= 64 else None

    async def relay(self, conversation_id: str, frame: Frame) -> None:
        """Sends `frame` from this socket's person to the others in the conversation, not stored."""
        await self.services.router.relay(conversation_id, self.role, self.ident, msgspec.to_builtins(frame))

    # ------------------------------------------------------------ presence

    async def join(self, ident: str, token_version: str = "") -> Any:
        """Subscribes to the recipient's pushes, then records the presence; returns
        the store's view for the welcome. Subscribing first means no push is missed."""
        self.ident, self.token_version = ident, token_version
        recipient = f"{self.kind}:{ident}"
        await self.services.hub.join(recipient, self)
        try:
            view = await self.services.router.connect(self.kind, ident, self.conn_id, token_version)
        except BaseException:
            await self.services.hub.leave(recipient, self)
            raise
        self._connected = True
        return view

    async def register(self) -> None:
        """Records this open socket's presence in the store again."""
        await self.services.router.connect(self.kind, self.ident, self.conn_id, self.token_version)

    async def goodbye(self) -> None:
        """Called once when the socket ends; undoes what `join` registered."""
        if not self._connected:
            return
        self._connected = False
        await self.services.hub.leave(f"{self.kind}:{self.ident}", self)
        try:
            await self.services.router.disconnect(self.kind, self.ident, self.conn_id)
        except SwitchboardError:
            pass  # the store is away; a node-lost sweep or the next hello heals presence

    # ------------------------------------------------------------ subclass API

    async def hello(self, hello: Any) -> None:
        raise NotImplementedError

    async def handle(self, command: Any) -> Result:
        raise NotImplementedError


def _schema_message(exc: Exception) -> str:
    text = str(exc)
    if "Invalid value" in text and "`$.type`" in text:
        return "unknown frame type"
    return text[:300]
