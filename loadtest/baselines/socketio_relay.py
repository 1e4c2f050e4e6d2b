"""The second baseline: python-socketio with its Redis manager doing the same two-party relay.

A client connects to the default namespace with `auth = {"me": <id>, "peer": <id>}`
and joins the room named after itself; every `msg` event it emits is emitted
again to its peer's room through `AsyncRedisManager` (delivered here and
published on Redis for every other node), which is how a python-socketio chat
scales out.

    python -m loadtest.baselines.socketio_relay --port 8102 --redis-url redis://...
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
import uvicorn


def create_app(redis_url: str) -> socketio.ASGIApp:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=socketio.AsyncRedisManager(redis_url, redis_options={"max_connections": 10_000}),
        cors_allowed_origins="*",
        logger=False,
        engineio_logger=False,
    )
    peers: dict[str, str] = {}

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: dict[str, str] | None) -> None:
        auth = auth or {}
        await sio.enter_room(sid, auth.get("me", sid))
        peers[sid] = auth.get("peer", "")

    @sio.event
    async def disconnect(sid: str, *args: Any) -> None:
        peers.pop(sid, None)

    @sio.on("msg")
    async def msg(sid: str, data: Any) -> None:
        await sio.emit("msg", data, room=peers.get(sid, ""))

    return socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
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
        lifespan="off",
    )


if __name__ == "__main__":
    main()
