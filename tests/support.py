"""Test clients that speak the wire protocol over real sockets, as the widget and the desk do."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import msgpack
import msgspec
import websockets

from switchboard.domain.config import AgentConfig, QueueConfig

DEFAULT_TIMEOUT = 5.0


class LocalAddresses:
    """The URLs of a server listening on 127.0.0.1:`port` (in-process or a child process)."""

    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def customer_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/customer"

    @property
    def agent_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/agent"

    @property
    def bot_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/bot"


class Client:
    """A WebSocket client holding every frame it received, waiting for frames by predicate."""

    _refs = itertools.count(1)

    def __init__(self, ws: Any, binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self.frames: list[dict[str, Any]] = []
        self.kinds: list[str] = []  # "text" or "binary", one per frame received
        self._cursor = 0
        self._arrived = asyncio.Event()
        self._closed: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, protocol: str = "json", **kwargs: Any) -> Client:
        subprotocols = {"json": ["switchboard.v1.json"], "msgpack": ["switchboard.v1.msgpack"], "none": None}[protocol]
        ws = await websockets.connect(url, subprotocols=subprotocols, max_size=None, open_timeout=5, **kwargs)
        return cls(ws, binary=protocol == "msgpack")

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                if isinstance(raw, bytes):
                    self.kinds.append("binary")
                    frame = msgpack.unpackb(raw, raw=False) if self.binary else json.loads(raw)
                else:
                    self.kinds.append("text")
                    frame = json.loads(raw)
                self.frames.append(frame)
                self._arrived.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            if not self._closed.done():
                self._closed.set_result((self.ws.close_code, self.ws.close_reason or ""))
            self._arrived.set()

    @property
    def is_closed(self) -> bool:
        return self._closed.done()

    async def send(self, frame: dict[str, Any]) -> None:
        if self.binary:
            await self.ws.send(msgpack.packb(frame, use_bin_type=True))
        else:
            await self.ws.send(json.dumps(frame))

    async def send_raw(self, data: str | bytes) -> None:
        await self.ws.send(data)

    async def request(self, frame: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Sends a command with a fresh ref; returns its ack or error frame."""
        ref = f"r{next(self._refs)}"
        await self.send({**frame, "ref": ref})
        return await self.wait(lambda f: f.get("ref") == ref and f["type"] in ("ack", "error"), timeout, consume=False)

    async def ok(self, frame: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        answer = await self.request(frame, timeout)
        assert answer["type"] == "ack", answer
        return answer

    async def wait(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = DEFAULT_TIMEOUT, consume: bool = True
    ) -> dict[str, Any]:
        """The first frame (after the cursor, if consuming) that matches; waits with a deadline."""
        deadline = time.monotonic() + timeout
        start = self._cursor if consume else 0
        while True:
            for i in range(start, len(self.frames)):
                if predicate(self.frames[i]):
                    if consume:
                        self._cursor = i + 1
                    return self.frames[i]
            if self._closed.done() and not self._arrived.is_set():
                raise AssertionError(f"socket closed {self._closed.result()} while waiting; got {self.frames[start:]}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting; frames since cursor: {self.frames[start:]}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                pass

    async def expect(self, type_: str, timeout: float = DEFAULT_TIMEOUT, **fields: Any) -> dict[str, Any]:
        return await self.wait(
            lambda f: f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items()), timeout
        )

    def received(self, type_: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == type_]

    async def closed(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int | None, str]:
        return await asyncio.wait_for(asyncio.shield(self._closed), timeout)

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        try:
            await self._reader
        except asyncio.CancelledError:
            pass


async def queue_and_agent(router: Any, queue: QueueConfig, now: int, **agent: Any) -> None:
    """Store-level tests start here: queue "q" put with this config, agent "a" in
    it (English; `agent` adds to its config), connected on one socket ("n:1")."""
    await router.put_queue("q", msgspec.json.encode(queue))
    await router.put_agent(
        "a", msgspec.json.encode(AgentConfig(display_name="A", languages=["en"], queues=["q"], **agent))
    )
    version = (await router.redis.hget(router.keys.agent("a"), "token_version")).decode()
    await router.connect("a", "a", "n:1", version, now=now)


async def webchat(router: Any, n: int | str, now: int, queue: str = "q", **start: Any) -> Any:
    """Store-level tests: visitor v<n> starts conversation c<n>, session s<n>, a webchat in English."""
    return await router.start_chat(
        visitor_id=f"v{n}",
        conversation_id=f"c{n}",
        session_id=f"s{n}",
        queue=queue,
        language="en",
        channel="webchat",
        now=now,
        **start,
    )


async def eventually(probe: Callable[[], Any], timeout: float = DEFAULT_TIMEOUT, interval: float = 0.02) -> Any:
    """Polls `probe` (a coroutine function) until it returns something truthy, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        await asyncio.sleep(interval)


async def hello_customer(url: str, protocol: str = "json", **hello: Any) -> tuple[Client, dict[str, Any]]:
    client = await Client.connect(url, protocol)
    await client.send({"type": "hello", **hello})
    welcome = await client.expect("welcome")
    return client, welcome


async def hello_agent(url: str, token: str, protocol: str = "json", **hello: Any) -> tuple[Client, dict[str, Any]]:
    client = await Client.connect(url, protocol)
    await client.send({"type": "hello", "token": token, **hello})
    welcome = await client.expect("welcome")
    return client, welcome


def page_problems(page: Any) -> list[str]:
    """A list that collects what a browser page logs as going wrong: uncaught
    errors, console errors and HTTP answers of 400 or more."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems
