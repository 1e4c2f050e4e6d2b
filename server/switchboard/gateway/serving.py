"""The uvicorn server of a node, with the contract's shutdown: stop accepting,
close every socket with 1001 so its client moves to another node, finish the
work under way, and exit within `shutdown_drain_s`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import uvicorn

from .socket import SHUTDOWN_REASON


class NodeServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, open_sockets: set[Any], drain_s: float = 10.0) -> None:
        super().__init__(config)
        self.open_sockets = open_sockets
        self.drain_s = drain_s
        self._stop_asked = asyncio.Event()

    def stop_soon(self) -> None:
        """Asks the server to stop, as a signal does, without waiting for uvicorn's next
        0.1 s look at `should_exit` (a test suite stops a node per test)."""
        self.should_exit = True
        self._stop_asked.set()

    async def main_loop(self) -> None:
        # uvicorn's loop: a tick every 0.1 s until `should_exit`, here woken by `stop_soon` too.
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await self._stop_asked.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        deadline = time.monotonic() + self.drain_s
        for server in self.servers:
            server.close()
        for listening in sockets or []:
            listening.close()
        # Each socket closes once the command it is handling has been answered
        # (uvicorn itself would close them with 1012 at once).
        open_sockets = self.open_sockets
        for client in list(open_sockets):
            client.go_away(SHUTDOWN_REASON)
        while open_sockets and time.monotonic() < deadline:  # noqa: ASYNC110 (a set has no event to wait on)
            await asyncio.sleep(0.02)
        # What uvicorn's own shutdown does, without its fixed 0.1 s pause and 0.1 s polls
        # (a test suite stops a node per test): connections are asked to close, HTTP
        # requests under way (an event stream, say) get what is left of the bound and are
        # then cancelled, and the lifespan stops the node's tasks.
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        while (state.connections or state.tasks) and not self.force_exit and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        for task in state.tasks:
            task.cancel(msg="the node's shutdown bound passed")
        if not self.force_exit:
            await self.lifespan.shutdown()
