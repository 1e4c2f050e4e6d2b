"""The bench's client connections: one WebSocket each, stamped with the time a message was sent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

# ---------------------------------------------------------------- client connections


class Conn:
    """One client WebSocket: frames go to `handler` when set, else to an inbox."""

    def __init__(self, ws: ClientConnection, decode: Callable[[Any], Any]) -> None:
        self.ws = ws
        self.decode = decode
        self.handler: Callable[[Any], None] | None = None
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.backlog: list[Any] = []
        self.pong: bytes | str | None = None  # socket.io: answer a "2" ping with this
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                if self.pong is not None and raw == "2":
                    await self.ws.send("3")
                    continue
                handler = self.handler
                if handler is not None:
                    handler(raw)
                else:
                    self.inbox.put_nowait(raw)

    async def expect(self, match: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first frame that matches; frames passed over stay for a later expect."""
        for i, frame in enumerate(self.backlog):
            if match(frame):
                del self.backlog[i]
                return frame
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            frame = self.decode(await asyncio.wait_for(self.inbox.get(), remaining))
            if match(frame):
                return frame
            self.backlog.append(frame)
            del self.backlog[:-50]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


async def open_ws(url: str, subprotocols: list[str] | None = None) -> ClientConnection:
    return await connect(
        url,
        subprotocols=subprotocols,
        compression=None,
        max_size=2**20,
        open_timeout=30,
        ping_interval=None,
        max_queue=None,
    )


def sent_ns(text: str) -> int:
    return int(text.split(" ", 1)[0])
