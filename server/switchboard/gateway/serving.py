"""The uvicorn server of a node, with the contract's shutdown: sockets close with 1001."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from ..domain.errors import CloseCode

CLOSE_WAIT_S = 3.0


class NodeServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, open_sockets: set[Any]) -> None:
        super().__init__(config)
        self.open_sockets = open_sockets

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Stop accepting first, then tell every client to move on (1001: reconnect
        # elsewhere and resume) before uvicorn would close them with 1012.
        for server in self.servers:
            server.close()
        open_sockets = self.open_sockets
        if open_sockets:
            for client in list(open_sockets):
                client.close(CloseCode.GOING_AWAY, "server shutting down")
            deadline = asyncio.get_running_loop().time() + CLOSE_WAIT_S
            while open_sockets and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
        await super().shutdown(sockets)
