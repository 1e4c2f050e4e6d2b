"""Calls to Redis made in one turn of the event loop, sent together.

A command through redis-py costs the node about 40 us of Python: taking a
pooled connection, packing every argument, a timeout, parsing, giving the
connection back. Under load a node's sockets make many calls per loop turn
(messages, routing steps); sent as one pipeline, packed here and read off one
connection, they cost about 14 us each.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError, ResponseError


class Batcher:
    """Sends the calls made in one turn of the event loop as one pipeline; alone,
    a call goes as before, one turn later. No call waits for another's answer:
    each runs on its own in Redis, in the order the calls were made."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []

    def call(self, *command: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append((command, answer))
        return answer

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        asyncio.get_running_loop().create_task(self._send(batch))

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        packed = b"".join(packed_command(command) for command, _ in batch)
        answers: list[Any]
        try:
            try:
                answers = await self._exchange(packed, len(batch))
            except ConnectionError:
                # A pooled connection may be stale (Redis restarted): one more try on a
                # fresh one, as redis-py's own retry would do for a single command.
                answers = await self._exchange(packed, len(batch))
        except asyncio.CancelledError:  # the node stops: its callers are answered `unavailable`
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(ConnectionError("the node is stopping"))
            raise
        except Exception as exc:
            answers = [exc] * len(batch)
        for (_, answer), outcome in zip(batch, answers, strict=False):
            if answer.done():  # its caller was cancelled
                continue
            if isinstance(outcome, BaseException):
                answer.set_exception(outcome)
            else:
                answer.set_result(outcome)

    async def _exchange(self, packed: bytes, count: int) -> list[Any]:
        """Writes the packed commands on one pooled connection and reads their
        answers (an error answer is returned as its exception, in its place)."""
        pool = self.redis.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(packed, check_health=False)
            answers: list[Any] = []
            for _ in range(count):
                try:
                    answers.append(await connection.read_response())
                except ResponseError as exc:
                    answers.append(exc)
            return answers
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)


def _arg(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return b"%d" % value
    return repr(value).encode()


def packed_command(command: tuple[Any, ...]) -> bytes:
    """One command in RESP, packed here: redis-py's general packer was a tenth of a
    node's time at saturation (it checks and encodes every argument in turn)."""
    parts = [b"*%d\r\n" % len(command)]
    for value in command:
        data = _arg(value)
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


def batcher_for(redis: Redis | RedisCluster) -> Batcher | None:
    """One per client (a cluster client routes each call by its keys itself)."""
    if isinstance(redis, RedisCluster):
        return None
    batcher = getattr(redis, "_switchboard_batcher", None)
    if batcher is None:
        batcher = Batcher(redis)
        redis._switchboard_batcher = batcher  # type: ignore[attr-defined]
    return batcher
