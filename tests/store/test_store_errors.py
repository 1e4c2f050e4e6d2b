"""What counts as a lost store: redis-py's own errors, and its broken connections mid-failover."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection

from switchboard.domain.errors import ErrorCode, SwitchboardError
from switchboard.store.errors import call


async def test_a_connection_torn_down_under_redis_py_is_unavailable_not_a_crash():
    # What a Redis Cluster failover did to a handshake's counter: a pipeline wrote on a
    # connection whose writer another task had just dropped (an HTTP 500 before this).
    connection = Connection()
    connection._writer = None
    with pytest.raises(SwitchboardError) as refused:
        await call(connection._send_packed_command([b"*1\r\n$4\r\nPING\r\n"]))
    # (redis-py 8.2 raises ConnectionError there itself; 8.1 raised the AttributeError)
    assert refused.value.code == ErrorCode.UNAVAILABLE


async def test_an_attribute_error_of_our_own_stays_a_bug():
    async def ours() -> None:
        raise AttributeError("a bug of ours")

    with pytest.raises(AttributeError):
        await call(ours())
