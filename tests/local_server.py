"""An ASGI app served on 127.0.0.1 by a real uvicorn in the test's event loop: what a webhook
receiver or a webhook bot needs to stand for the outside world."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from support import eventually


class LocalServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on such sockets, and without
        # it every answer on a kept-alive connection stalls ~40 ms (Nagle + delayed ACK)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        await eventually(self._started)

    async def _started(self) -> bool:
        assert self._task is not None and not self._task.done(), "the local server did not start"
        return bool(self._server and self._server.started)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
