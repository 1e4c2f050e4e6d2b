"""Fan-out from Redis pub/sub to the sockets of this node.

One pub/sub connection per node. A channel is subscribed while at least one
local socket belongs to its recipient (an agent or a visitor). Push is best
effort: a socket that misses a frame recovers it from history on resume.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from redis.asyncio import Redis

from ..background import Background, cancel_and_wait
from ..store.errors import STORE_ERRORS, unavailable
from ..store.keys import Keys
from .codec import json_decode_any, msgpack_encode

log = logging.getLogger(__name__)


class Push:
    """One published frame, decoded once and encoded at most once per encoding."""

    __slots__ = ("_msgpack", "frame", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.frame: dict[str, Any] = json_decode_any(payload)
        self._msgpack: bytes | None = None

    def send_message(self, binary: bool) -> dict[str, Any]:
        if binary:
            if self._msgpack is None:
                self._msgpack = msgpack_encode(self.frame)
            return {"type": "websocket.send", "bytes": self._msgpack}
        return {"type": "websocket.send", "text": self.payload.decode()}


class Subscriber(Protocol):
    def push(self, push: Push) -> None: ...

    def interrupted(self) -> None:
        """Pushes to it may have been lost: it must resume from history."""


#: Pauses between attempts to subscribe again after the pub/sub connection broke.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0


class Hub(Background):
    def __init__(self, redis: Redis, keys: Keys, node_id: str) -> None:
        self._redis = redis
        self._keys = keys
        self._node_channel = keys.channel(f"node:{node_id}")
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.subscribed = False  # pushes reach this node (part of its readiness)

    async def start(self) -> None:
        """Subscribes to the node's own channel (redis-py's reader needs one
        subscription before it can listen). A node started while Redis is away
        still starts: it is not ready (`/readyz` 503) and subscribes once Redis is there."""
        try:
            await self._pubsub.subscribe(self._node_channel)
            self.subscribed = True
        except STORE_ERRORS as exc:
            log.warning("pub/sub not connected at start (%s); retrying", exc)
        self._task = asyncio.create_task(self._read(self.subscribed), name="hub-reader")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py's PubSub is untyped
        except STORE_ERRORS:
            pass

    @property
    def socket_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    async def join(self, recipient: str, subscriber: Subscriber) -> None:
        channel = self._keys.channel(recipient)
        async with self._lock:
            subscribers = self._subscribers.get(channel)
            if subscribers is None:
                try:
                    await self._pubsub.subscribe(channel)
                except STORE_ERRORS as exc:
                    raise unavailable(exc) from exc
                self._subscribers[channel] = subscribers = set()
            subscribers.add(subscriber)

    async def leave(self, recipient: str, subscriber: Subscriber) -> None:
        channel = self._keys.channel(recipient)
        async with self._lock:
            subscribers = self._subscribers.get(channel)
            if subscribers is None:
                return
            subscribers.discard(subscriber)
            if not subscribers:
                del self._subscribers[channel]
                try:
                    await self._pubsub.unsubscribe(channel)
                except STORE_ERRORS:
                    pass  # the connection is gone; a resubscribe will not include it

    async def _read(self, subscribed: bool) -> None:
        if not subscribed:
            await self._subscribe_again()
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (*STORE_ERRORS, RuntimeError) as exc:
                self.subscribed = False
                log.warning("pub/sub connection lost (%s); subscribing again", exc)
            await self._subscribe_again()

    async def _listen(self) -> None:
        while True:
            message = await self._pubsub.get_message(timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            if isinstance(channel, bytes):
                channel = channel.decode()
            subscribers = self._subscribers.get(channel)
            if not subscribers:
                continue
            try:
                push = Push(message["data"])
            except Exception:  # a foreign publisher on our channel: ignore its frame
                log.warning("undecodable frame on %s dropped", channel)
                continue
            for subscriber in tuple(subscribers):
                subscriber.push(push)

    async def _subscribe_again(self) -> None:
        """Retries with a growing pause until a new pub/sub connection holds every
        channel again (with Sentinel, on the current master). What was published
        meanwhile is lost, so every socket is then told to reconnect and resume
        by `seq`, which replays what it missed."""
        backoff = RETRY_FIRST_S
        while True:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_S)
            async with self._lock:
                try:
                    await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py's PubSub is untyped
                except STORE_ERRORS:
                    pass
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                try:
                    await self._pubsub.subscribe(self._node_channel, *self._subscribers)
                except STORE_ERRORS as exc:
                    log.debug("subscribing again failed (%s); retrying", exc)
                    continue
                interrupted = {s for subscribers in self._subscribers.values() for s in subscribers}
                self.subscribed = True
            # Idle pooled connections may still be those of the Redis that went
            # away (their end is not always noticed): a command on one would fail.
            # (A cluster client keeps a pool per shard and renews them itself.)
            pool = getattr(self._redis, "connection_pool", None)
            if pool is not None:
                await pool.disconnect(inuse_connections=False)
            log.warning("pub/sub subscribed again; %d sockets told to resume", len(interrupted))
            for subscriber in interrupted:
                subscriber.interrupted()
            return
