"""Requests to addresses given by users (webhooks) reach public addresses only.

A webhook URL could name (or resolve to) the node's own loopback, the private
network or the cloud's metadata address: server-side request forgery. The
check that counts is on the address a connection actually reached, after the
DNS answer, so a name that resolves to a public address at registration and
to a private one later gets nowhere. httpx takes no network backend, so the
transport replaces its pool with one (httpcore's) whose backend checks.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.webhooks import is_public

#: How long a registration waits for the URL's host to resolve.
RESOLVE_TIMEOUT_S = 5.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS client context of the process (httpx's defaults: certifi's roots, or
    `SSL_CERT_FILE`). Loading the roots costs about 30 ms of CPU, and every client made
    its own, twice for a public-only one; a context is safe to share between clients."""
    return httpx.create_ssl_context()


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, refusing a connection whose peer is not public."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        peer = stream.get_extra_info("server_addr")
        address = str(peer[0]) if peer else ""
        if not is_public(address):
            await stream.aclose()
            raise httpcore.ConnectError(f"{host} is {address or 'an unknown address'}, not a public address")
        return stream

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks do not connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, verify=tls_context())
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=tls_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnlyBackend(httpcore.AnyIOBackend()),
        )


def outbound_client(timeout_s: float, allow_private: bool, user_agent: str, max_connections: int) -> httpx.AsyncClient:
    """A client for user-given URLs: no redirects followed, and (unless the deployment allows
    private receivers) connections to public addresses only."""
    # An idle connection is given up after 4 s, before the 5 s after which common servers
    # (uvicorn, Node.js) close theirs: at the same 5 s, a delivery could go out on a
    # connection the receiver was closing, and fail for nothing.
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections // 2, keepalive_expiry=4.0
    )
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_s),
        limits=limits,
        headers={"User-Agent": user_agent},
        verify=tls_context(),
        transport=None if allow_private else PublicOnlyTransport(limits),
    )


async def refuse_private(url: str) -> None:
    """`400` for a URL whose host is, or resolves to, an address that is not public."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_S
        )
    except (OSError, TimeoutError):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"url's host {host} does not resolve") from None
    private = sorted({str(entry[4][0]) for entry in found if not is_public(str(entry[4][0]))})
    if private:
        raise SwitchboardError(
            ErrorCode.BAD_REQUEST,
            f"url's host {host} is a loopback, private or link-local address ({', '.join(private)}); "
            "webhooks reach public addresses only (see SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)",
        )
