"""One client's socket to a Switchboard node, kept open: the hello/welcome handshake, commands matched
to their answers by `ref`, events into an async iterator, and reconnect with resume when it drops.

`CustomerClient` and `AgentClient` add what differs by role: the hello they send, what a welcome tells
them, and the commands.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self, TypedDict, TypeVar

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as open_websocket

from .backoff import DEFAULT_BACKOFF, Backoff
from .codec import SUBPROTOCOLS, Encoding, decode, encode
from .commands import Answer
from .errors import ClientError, ClosedByServer, CommandTimeout, ConnectionLost, NotConnected, SwitchboardError
from .events import Event, parse_event, seq_of
from .resume import Delivered

log = logging.getLogger("switchboard_client")

E = TypeVar("E", bound=Event)
A = TypeVar("A", bound=Answer)

#: Close codes after which reconnecting cannot help: a bad, expired or revoked token, a refused Origin.
FINAL_CLOSE_CODES = frozenset({4401, 4403})
#: What may go wrong on the way to a welcomed socket that another attempt may not meet.
PASSING_FAILURES = (
    OSError,
    TimeoutError,
    websockets.InvalidHandshake,
    websockets.ConnectionClosed,
    msgspec.DecodeError,
)
#: The largest frame accepted from the server (a welcome lists every card and offer).
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: What ends the event iterator once the client is closed or has given up.
_END: Any = object()


class Options(TypedDict, total=False):
    """How a client connects; see `Connection.__init__`."""

    encoding: Encoding
    reconnect: Backoff | None
    timeout: float
    max_events: int


@dataclass(slots=True)
class _Command:
    frame: dict[str, Any]
    answer: asyncio.Future[dict[str, Any]]
    retry: bool  # safe to send again after a reconnect (the server stores it once)


class Connection:
    path: ClassVar[str]
    known_events: ClassVar[dict[str, type[Event]]]
    _refs = itertools.count(1)

    def __init__(
        self,
        url: str,
        *,
        encoding: Encoding = "json",
        reconnect: Backoff | None = DEFAULT_BACKOFF,
        timeout: float = 10.0,
        max_events: int = 10_000,
    ) -> None:
        """`url` is the node's address (`ws://host:port`, the socket's path is added) or the socket's own.
        `reconnect=None` turns reconnecting off. `timeout` bounds each command, the handshake, and how long
        a command waits for a socket while reconnecting. Events not yet read are held up to `max_events`;
        beyond that the client stops reading and the server eventually closes the socket as too slow,
        after which the client resumes."""
        base = url.rstrip("/")
        self.url = base if base.endswith(self.path) else base + self.path
        self.encoding: Encoding = encoding
        self.reconnects = 0  # how many times the socket was opened again after a drop
        self._backoff = reconnect
        self._timeout = timeout
        self._ws: ClientConnection | None = None
        self._open = asyncio.Event()  # a welcomed socket is there to send on (also set once done)
        self._done = False
        self._closing = False
        self._failure: ClientError | None = None
        self._commands: dict[str, _Command] = {}
        self._events: asyncio.Queue[Event] = asyncio.Queue(max_events)
        self._supervisor: asyncio.Task[None] | None = None
        self._delivered = Delivered()

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the server chose for the current socket."""
        return self._ws.subprotocol if self._ws is not None else None

    # ------------------------------------------------------------ what a role says

    def _hello(self) -> dict[str, Any]:
        raise NotImplementedError

    def _welcomed(self, welcome: Event, again: bool) -> list[Event]:
        """Takes in a welcome (`again` after a reconnect); returns the events it brings to deliver."""
        raise NotImplementedError

    def _admit(self, event: Event) -> bool:
        """Whether to deliver an event; history events delivered before (a resume's overlap) are not."""
        where = seq_of(event)
        return where is None or self._delivered.first_time(*where)

    # ------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        return await self.connect()

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def connect(self) -> Self:
        """Opens the socket and says hello; raises NotConnected or ClosedByServer when that fails."""
        try:
            self._ws = await self._open_socket(again=False)
        except PASSING_FAILURES as exc:
            raise NotConnected(f"cannot connect to {self.url}: {exc!r}") from exc
        self._open.set()
        self._supervisor = asyncio.create_task(self._serve(), name=f"switchboard-client {self.url}")
        return self

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise
        self._finish(None)

    async def _serve(self) -> None:
        """Reads until the socket drops, then reconnects and resumes, until closed or refused for good."""
        failure: ClientError | None = None
        try:
            while True:
                assert self._ws is not None
                code, reason = await self._read(self._ws)
                self._open.clear()
                if self._closing:
                    return
                if code in FINAL_CLOSE_CODES:
                    raise ClosedByServer(code, reason)
                log.info("socket to %s closed (%s %s); reconnecting", self.url, code, reason)
                self._drop_unanswered()
                self._ws = await self._reconnect()
                self.reconnects += 1
                for command in list(self._commands.values()):
                    await self._send(command.frame)
                self._open.set()
        except ClientError as exc:
            failure = exc
        except Exception as exc:  # a bug here, or a server far from the contract: stop, and say why
            log.exception("the client to %s stopped", self.url)
            failure = ClientError(f"the client stopped: {exc!r}")
        finally:
            self._finish(failure)

    def _finish(self, failure: ClientError | None) -> None:
        if self._done:
            return
        self._done = True
        self._failure = failure
        self._open.set()  # wakes the commands waiting for a socket, to fail
        for command in self._commands.values():
            if not command.answer.done():
                command.answer.set_exception(failure or NotConnected("the client was closed"))
        self._commands.clear()
        try:
            self._events.put_nowait(_END)
        except asyncio.QueueFull:
            pass  # the iterator sees the end once it has read what is queued

    # ------------------------------------------------------------ the socket

    async def _open_socket(self, again: bool) -> ClientConnection:
        """A new socket, welcomed; raises ClosedByServer when the server refuses it for good."""
        try:
            ws = await open_websocket(
                self.url,
                subprotocols=[websockets.Subprotocol(SUBPROTOCOLS[self.encoding])],
                open_timeout=self._timeout,
                max_size=MAX_FRAME_BYTES,
            )
        except websockets.InvalidStatus as exc:
            if exc.response.status_code == 403:  # the Origin is refused before the socket exists
                raise ClosedByServer(403, "handshake refused") from exc
            raise
        try:
            await ws.send(encode(self._hello(), self.encoding))
            async with asyncio.timeout(self._timeout):
                welcome = parse_event(decode(await ws.recv(), self.encoding), self.known_events)
        except websockets.ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            if code in FINAL_CLOSE_CODES:
                raise ClosedByServer(code, exc.rcvd.reason if exc.rcvd is not None else "") from None
            raise
        except BaseException:
            await ws.close()
            raise
        if welcome.type != "welcome":
            await ws.close()
            raise websockets.InvalidHandshake(f"expected a welcome, got {welcome!r}")
        for event in self._welcomed(welcome, again):
            await self._events.put(event)
        return ws

    async def _reconnect(self) -> ClientConnection:
        if self._backoff is None:
            raise NotConnected(f"the socket to {self.url} closed and reconnecting is off")
        attempts = 0
        for pause in self._backoff.pauses():
            await asyncio.sleep(pause)
            attempts += 1
            try:
                return await self._open_socket(again=True)
            except PASSING_FAILURES as exc:
                log.info("reconnecting to %s: %r", self.url, exc)
        raise NotConnected(f"gave up reconnecting to {self.url} after {attempts} attempts")

    async def _read(self, ws: ClientConnection) -> tuple[int, str]:
        """Takes in frames until the socket closes; returns its close code and reason."""
        try:
            async for data in ws:
                try:
                    frame = decode(data, self.encoding)
                except msgspec.DecodeError:
                    log.warning("undecodable frame from %s dropped", self.url)
                    continue
                await self._take(frame)
        except websockets.ConnectionClosed:
            pass
        return ws.close_code or 1006, ws.close_reason or ""

    async def _take(self, frame: dict[str, Any]) -> None:
        kind, ref = frame.get("type"), frame.get("ref")
        if kind in ("ack", "error") and isinstance(ref, str):
            command = self._commands.pop(ref, None)
            if command is not None and not command.answer.done():
                command.answer.set_result(frame)
            return  # else the answer to a command that stopped waiting
        event = parse_event(frame, self.known_events)
        if self._admit(event):
            await self._events.put(event)

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._ws is None:
            return
        try:
            await self._ws.send(encode(frame, self.encoding))
        except websockets.ConnectionClosed:
            pass  # the supervisor sees the drop: it fails the command or sends it again after reconnecting

    def _drop_unanswered(self) -> None:
        """The socket dropped: a command that may not be sent twice cannot know whether it took effect."""
        for ref, command in list(self._commands.items()):
            if not command.retry:
                del self._commands[ref]
                if not command.answer.done():
                    command.answer.set_exception(ConnectionLost(f"the socket dropped before {ref} was answered"))

    # ------------------------------------------------------------ commands and events

    async def request(self, frame: dict[str, Any], answer_type: type[A], *, retry: bool = False) -> A:
        """Sends a command and returns its `ack` as `answer_type`; raises SwitchboardError for its
        `error`. A command sent while the client reconnects waits for the socket, up to the client's
        timeout."""
        ref = f"r{next(self._refs)}"
        command = _Command({**frame, "ref": ref}, asyncio.get_running_loop().create_future(), retry)
        waiting_for = "a socket"
        try:
            async with asyncio.timeout(self._timeout):
                await self._open.wait()
                if self._done:
                    raise self._failure or NotConnected("the client is closed")
                waiting_for = "an answer"
                self._commands[ref] = command
                await self._send(command.frame)
                answer = await command.answer
        except TimeoutError:
            if waiting_for == "a socket":
                raise NotConnected(f"no socket to {self.url} within {self._timeout} s") from None
            raise CommandTimeout(f"no answer to {frame.get('type')} within {self._timeout} s") from None
        finally:
            self._commands.pop(ref, None)
        if answer["type"] == "error":
            raise SwitchboardError(str(answer.get("code")), str(answer.get("message")))
        try:
            return msgspec.convert(answer, answer_type)
        except msgspec.ValidationError as exc:  # the server is not keeping the contract: say so, typed
            raise ClientError(f"the answer to {frame.get('type')} does not fit {answer_type.__name__}: {exc}") from exc

    async def _next_event(self) -> Event | None:
        """The next event; None once the client is closed; raises why it gave up, if it did."""
        event: Event = _END if self._events.empty() and self._done else await self._events.get()
        if event is _END:
            self._events.put_nowait(_END)  # for any other reader
            if self._failure is not None:
                raise self._failure
            return None
        return event

    async def events(self) -> AsyncIterator[Event]:
        """Every event, in the order it arrived, until the client is closed (then the iteration ends) or
        gives up (then it raises why: ClosedByServer, NotConnected)."""
        while (event := await self._next_event()) is not None:
            yield event

    async def wait_for(
        self, kind: type[E], where: Callable[[E], bool] | None = None, *, timeout: float | None = None
    ) -> E:
        """The next event of this type (that `where` accepts); the events read before it are passed over."""
        async with asyncio.timeout(self._timeout if timeout is None else timeout):
            while True:
                event = await self._next_event()
                if event is None:
                    raise NotConnected("the client is closed")
                if isinstance(event, kind) and (where is None or where(event)):
                    return event
