"""The uvicorn server of a node, with the contract's shutdown: stop accepting,
close every socket with 1001 so its client moves to another node, finish the
work under way, and exit within `shutdown_drain_s`."""

from __future__ import annotations

import asyncio
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

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        deadline = time.monotonic() + self.drain_s
        for server in self.servers:
            server.close()
        # Each socket closes once the command it is handling has been answered
        # (uvicorn itself would close them with 1012 at once).
        open_sockets = self.open_sockets
        for client in list(open_sockets):
            client.go_away(SHUTDOWN_REASON)
        while open_sockets and time.monotonic() < deadline:  # noqa: ASYNC110 (a set has no event to wait on)
            await asyncio.sleep(0.02)
        # HTTP requests under way (an event stream, say) get what is left of the
        # bound; then uvicorn cancels them and the lifespan stops the node's tasks.
        # uvicorn annotates this as whole seconds but hands it to asyncio.wait_for, which takes a float.
        self.config.timeout_graceful_shutdown = max(deadline - time.monotonic(), 0.1)  # type: ignore[assignment]
        await super().shutdown(sockets)
