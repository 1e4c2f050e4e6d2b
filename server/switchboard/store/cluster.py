"""Redis Cluster: the node's client, and the sharded pub/sub its hub listens on.

Routing keys share one hash tag and each conversation's message side has its
own (see keys.py), so every script's keys are in one slot and redis-py routes
each EVALSHA by its first key. Pushes use sharded pub/sub (SPUBLISH /
SSUBSCRIBE): a frame is sent only to the shard that owns its channel's slot,
not broadcast over the cluster bus to every shard as PUBLISH would be, so push
traffic spreads with the shards. Each recipient's channel has a tag of its own
(`sb:push:{a:<agent id>}`), so a node listens on one connection per shard.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis import DriverInfo
from redis import exceptions as redis_errors
from redis.asyncio.cluster import ClusterNode, ClusterPubSub, RedisCluster

#: Connecting gives up after this; commands get no timeout (XREAD BLOCK waits on purpose).
CONNECT_TIMEOUT_S = 2.0


def parse_nodes(entries: tuple[str, ...]) -> list[tuple[str, int]]:
    """ "host:port" entries as (host, port); SystemExit on a malformed one."""
    nodes = []
    for entry in entries:
        host, _, port = entry.strip().rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit(f"SWITCHBOARD_REDIS_CLUSTER_NODES: {entry!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


class Cluster(RedisCluster):
    """A RedisCluster whose `pubsub()` is sharded pub/sub with the interface the
    hub uses on a single Redis (subscribe, unsubscribe, get_message, aclose)."""

    def pubsub(self, *args: Any, ignore_subscribe_messages: bool = True, **kwargs: Any) -> ShardedPubSub:  # type: ignore[override]
        return ShardedPubSub(super().pubsub(*args, **kwargs))


def connect_cluster(entries: tuple[str, ...], driver_info: DriverInfo) -> Cluster:
    """A client of the cluster that one of these nodes belongs to (the others are
    found from it; listing several survives one being down at start)."""
    return Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in parse_nodes(entries)],
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=30,
        driver_info=driver_info,
    )


#: Errors of a cluster in motion (a shard failing over, slots moving) that are
#: not connection errors; the hub knows what to do about a lost connection.
_CLUSTER_TROUBLE = (redis_errors.RedisError, redis_errors.RedisClusterException)


def _lost(exc: BaseException) -> BaseException:
    if isinstance(exc, (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)):
        return exc
    return redis_errors.ConnectionError(f"sharded pub/sub: {exc!r}")


class ShardedPubSub:
    """SSUBSCRIBE through redis-py's ClusterPubSub, which keeps one connection per
    shard and moves channels when slots move. redis-py reads those connections in
    turn, each with the full timeout, which would hold a frame on one shard while
    it waits on another; so each shard's connection gets a reader task of its own,
    and they all feed one inbox. A reader's error surfaces from `get_message`, as
    a lost connection does on a single Redis, and the hub subscribes again."""

    def __init__(self, pubsub: ClusterPubSub) -> None:
        self._pubsub = pubsub
        self._inbox: asyncio.Queue[dict[str, Any] | BaseException] = asyncio.Queue()
        self._readers: dict[str, asyncio.Task[None]] = {}

    async def subscribe(self, *channels: str) -> None:
        try:
            await self._pubsub.cluster.initialize()  # learns the slots on first use; then a no-op
            if channels:
                await self._pubsub.ssubscribe(*channels)
        except _CLUSTER_TROUBLE as exc:
            raise _lost(exc) from exc
        self._start_readers()

    async def unsubscribe(self, *channels: str) -> None:
        if channels:
            try:
                await self._pubsub.sunsubscribe(*channels)
            except _CLUSTER_TROUBLE as exc:
                raise _lost(exc) from exc

    async def get_message(self, timeout: float = 1.0, **_: Any) -> dict[str, Any] | None:
        self._start_readers()  # a shard that took over channels after a slot move
        try:
            item = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    async def aclose(self) -> None:
        readers = list(self._readers.values())
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        self._readers.clear()
        await self._pubsub.aclose()

    def _start_readers(self) -> None:
        for name in list(self._pubsub.node_pubsub_mapping):
            reader = self._readers.get(name)
            if reader is None or reader.done():
                self._readers[name] = asyncio.create_task(self._read(name), name=f"shard-reader-{name}")

    async def _slot_moved(self, channel: bytes | str) -> None:
        """Redis ended a subscription the node still holds: the channel's slot moved
        to another shard (resharding). What was published there since is lost, and
        redis-py moves the channel only once this node's own command meets a
        redirection, which never comes on a node that does not publish on it. So:
        learn where the slots are now and report the connection as lost; the hub
        subscribes again, on the new owners, and tells its sockets to resume."""
        with contextlib.suppress(*_CLUSTER_TROUBLE):
            await self._pubsub.cluster.nodes_manager.initialize()
        raise redis_errors.ConnectionError(f"sharded pub/sub: the slot of {channel!r} moved to another shard")

    async def _read(self, name: str) -> None:
        cluster = self._pubsub.cluster
        try:
            while name in self._pubsub.node_pubsub_mapping:
                node = cluster.get_node(node_name=name)
                if node is None:  # the shard left the cluster; its channels moved on
                    return
                message = await self._pubsub.get_sharded_message(timeout=1.0, target_node=node)
                if message is None:
                    continue
                if message["type"] == "smessage":
                    self._inbox.put_nowait({"type": "message", "channel": message["channel"], "data": message["data"]})
                elif message["type"] == "sunsubscribe" and message["channel"] in self._pubsub.shard_channels:
                    await self._slot_moved(message["channel"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._inbox.put_nowait(_lost(exc))
        finally:
            with contextlib.suppress(KeyError):
                if self._readers.get(name) is asyncio.current_task():
                    del self._readers[name]
