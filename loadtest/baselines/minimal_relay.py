"""The floor for the benchmark: two WebSockets forwarded to each other through Redis pub/sub.

Nothing else: no hello, no auth, no validation, no history, no ack. A client
connects to `/ws?me=<id>&peer=<id>`; every frame it sends is published as is on
the peer's channel, and every frame published on its own channel is written to
it. One pub/sub connection per process, as in Switchboard's hub, so the RSS per
idle socket compares like with like.

    python -m loadtest.baselines.minimal_relay --port 8101 --redis-url redis://...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

PREFIX = "relay:"


def create_app(redis_url: str) -> Starlette:
    redis = Redis.from_url(redis_url, max_connections=10_000)  # as Switchboard's node
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    sockets: dict[bytes, WebSocket] = {}
    reader: list[asyncio.Task[None]] = []
    lock = asyncio.Lock()  # one subscribe or unsubscribe at a time on the shared connection

    async def read() -> None:
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            ws = sockets.get(message["channel"])
            if ws is None:
                continue
            data = message["data"]
            # Text in, text out; binary in, binary out (the sender's first byte tells).
            with contextlib.suppress(Exception):
                if data[:1] == b"\x00":
                    await ws.send({"type": "websocket.send", "bytes": data[1:]})
                else:
                    await ws.send({"type": "websocket.send", "text": data.decode()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pubsub.subscribe(PREFIX + "-")  # the reader needs one subscription to listen
        reader.append(asyncio.create_task(read()))
        yield
        reader[0].cancel()
        await pubsub.aclose()
        await redis.aclose()

    async def relay(websocket: WebSocket) -> None:
        me = websocket.query_params.get("me", "")
        peer = (PREFIX + websocket.query_params.get("peer", "")).encode()
        channel = (PREFIX + me).encode()
        await websocket.accept()
        async with lock:
            await pubsub.subscribe(channel)
        sockets[channel] = websocket
        try:
            while True:
                message: dict[str, Any] = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                payload = text.encode() if text is not None else b"\x00" + (message.get("bytes") or b"")
                await redis.publish(peer, payload)
        except WebSocketDisconnect:
            return
        finally:
            sockets.pop(channel, None)
            with contextlib.suppress(Exception):
                async with lock:
                    await pubsub.unsubscribe(channel)

    return Starlette(routes=[WebSocketRoute("/ws", relay)], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.redis_url),
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        loop="uvloop",
        http="httptools",
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
