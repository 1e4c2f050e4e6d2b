"""Limits that keep a hostile client from taking a node down: who may open a
socket (Origin, sockets and handshakes per address), how fast a socket may
send (a token bucket per socket) and how fast an address may call the HTTP
API (a token bucket per address).

Every refusal is documented in docs/protocol.md (Limits) and docs/operations.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.errors import CloseCode, SwitchboardError
from ..settings import Settings

log = logging.getLogger(__name__)


class TokenBucket:
    """`burst` frames at once, then `rate` frames per second."""

    __slots__ = ("burst", "clock", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.stamp = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


class FrameRate:
    """A socket's frame budget. Frames over it are refused with `rate_limited`;
    a client that keeps sending while refused (it never lets the bucket fill up
    again) is closed with 1008 after `strikes` refusals."""

    __slots__ = ("bucket", "limit", "strikes")

    def __init__(self, settings: Settings, per_s: float | None = None, burst: int | None = None) -> None:
        """The settings' budget, or `per_s` and `burst` (a bot socket's)."""
        self.bucket = TokenBucket(per_s or settings.frames_per_s, burst or settings.frame_burst)
        self.strikes = 0
        self.limit = settings.rate_limit_strikes

    def admit(self) -> bool:
        """True: handle the frame. False: refuse it (see `abusive`)."""
        if self.strikes and self.bucket.full:
            self.strikes = 0  # it calmed down: forgiven
        if self.bucket.take():
            return True
        self.strikes += 1
        return False

    @property
    def abusive(self) -> bool:
        return self.strikes > self.limit


@dataclass(frozen=True)
class Refusal:
    """A handshake refused: `close_code` 4403 is answered before accept (HTTP 403),
    1013 (try again later) right after it."""

    close_code: int
    message: str


def client_address(scope: Mapping[str, Any]) -> str:
    """The client's address; behind a trusted proxy uvicorn has already put the
    X-Forwarded-For address here (SWITCHBOARD_TRUSTED_PROXIES)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class Gate:
    """Admission of WebSocket handshakes on one node."""

    def __init__(self, settings: Settings, count_handshake: Callable[[str, int], Awaitable[int]]) -> None:
        self.settings = settings
        self._count_handshake = count_handshake
        self._open: dict[str, int] = {}  # open sockets per client address, this node only

    def open_from(self, ip: str) -> int:
        return self._open.get(ip, 0)

    async def admit(self, ip: str) -> Refusal | None:
        """Counts the handshake; a refusal, or None when the socket may open. A socket
        admitted holds a place until `release`."""
        limit = self.settings.handshakes_per_ip_per_min
        if limit:
            now = time.time()
            try:
                count = await self._count_handshake(ip, int(now // 60))
            except SwitchboardError:
                count = 0  # the store is away: hello will say so; do not lock everyone out
            if count > limit:
                return Refusal(CloseCode.TRY_AGAIN_LATER, "too many connections from your address")
        limit = self.settings.sockets_per_ip
        if limit and self._open.get(ip, 0) >= limit:
            return Refusal(CloseCode.TRY_AGAIN_LATER, "too many open connections from your address")
        self._open[ip] = self._open.get(ip, 0) + 1
        return None

    def release(self, ip: str) -> None:
        left = self._open.get(ip, 0) - 1
        if left > 0:
            self._open[ip] = left
        else:
            self._open.pop(ip, None)


class HttpRate:
    """ASGI middleware: each client address gets `rate` requests per second to
    /api/ on this node, in bursts of up to `burst`; a request over it is answered
    429 `rate_limited` with Retry-After, before any work is done for it. The pages,
    the widget's files, /healthz, /readyz and /metrics are not counted."""

    #: addresses remembered at most; full (idle) buckets are dropped first
    TRACKED = 10_000

    def __init__(self, app: Any, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            self.rate
            and scope["type"] == "http"
            and scope["path"].startswith("/api/")
            and not self._admit(client_address(scope))
        ):
            body = (
                b'{"error":{"code":"rate_limited","message":"too many requests from your address; try again shortly"}}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"%d" % len(body)),
                        (b"retry-after", b"%d" % max(1, round(1 / self.rate))),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def _admit(self, ip: str) -> bool:
        bucket = self._buckets.get(ip)
        if bucket is None:
            if len(self._buckets) >= self.TRACKED:
                self._forget_idle()
            bucket = self._buckets[ip] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket.take()

    def _forget_idle(self) -> None:
        for ip in [ip for ip, bucket in self._buckets.items() if bucket.full]:
            del self._buckets[ip]
        if len(self._buckets) >= self.TRACKED:  # all busy: the oldest go (a fresh bucket is full)
            for ip in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[ip]


def origin_refusal() -> Refusal:
    return Refusal(CloseCode.ORIGIN_FORBIDDEN, "origin not allowed")


class ClientErrorsWithoutTraceback(logging.Filter):
    """uvicorn logs a client's invalid UTF-8 (answered with close 1007) as an error
    with a traceback; any client can send it, so it would fill the log. It is kept
    as one line at info level."""

    NOISE = ("Invalid UTF-8 sequence received from client.",)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() in self.NOISE:
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def quiet_client_errors() -> None:
    logging.getLogger("uvicorn.error").addFilter(ClientErrorsWithoutTraceback())
