"""The node's Redis client: one URL, the master that Redis Sentinel names, or a
Redis Cluster (store/cluster.py).

With Sentinel every new connection asks the sentinels for the current master,
so after a failover the reconnecting clients (commands and pub/sub alike)
reach the promoted replica; a connection to a demoted master fails with a
connection error, which the callers treat as the store being away for a moment.
"""

from __future__ import annotations

from typing import cast

from redis import DriverInfo
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from .. import version
from ..settings import Settings
from .cluster import connect_cluster
from .pushes import NodeRedis

#: Connecting (TCP and, with Sentinel, asking a sentinel) gives up after this;
#: commands themselves get no timeout, as XREAD BLOCK waits longer on purpose.
CONNECT_TIMEOUT_S = 2.0
HEALTH_CHECK_INTERVAL_S = 30
#: redis-py 8 caps a pool at 100 connections and then fails the command
#: (MaxConnectionsError, answered `unavailable`): a node with more than 100
#: commands in flight, e.g. 200 chats writing at once, refused messages. One
#: connection per command in flight is what redis-py did before; this only
#: bounds it far above any load one node's CPU can carry.
REDIS_MAX_CONNECTIONS = 10_000
#: How the node's connections name themselves to Redis 7.2 and later (CLIENT SETINFO, in CLIENT
#: LIST). Made once: left to redis-py, each new connection read the package metadata
#: again for its version (about 2 ms each).
DRIVER_INFO = DriverInfo().add_upstream_driver("switchboard", version())


def connect(settings: Settings) -> Redis:
    if settings.redis_cluster_nodes:
        # The store's modules type their client as Redis: a cluster client answers the
        # same commands, and where it differs (sharded pub/sub) they check for it.
        return cast(Redis, connect_cluster(settings.redis_cluster_nodes, DRIVER_INFO))
    if settings.uses_sentinel:
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            settings.sentinel_addresses(),  # exits when no master name is set
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CONNECT_TIMEOUT_S,  # for the sentinels only: their answers are immediate
        )
        master: Redis = sentinel.master_for(
            settings.redis_master_name or "",
            redis_class=NodeRedis,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            health_check_interval=HEALTH_CHECK_INTERVAL_S,
            max_connections=REDIS_MAX_CONNECTIONS,
            driver_info=DRIVER_INFO,
        )
        return master
    if not settings.redis_url:
        raise ValueError("settings need a redis_url, sentinels or cluster nodes (see Settings.from_env)")
    return NodeRedis.from_url(
        settings.redis_url,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        max_connections=REDIS_MAX_CONNECTIONS,
        driver_info=DRIVER_INFO,
    )
