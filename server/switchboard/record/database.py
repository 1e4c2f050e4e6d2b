"""The connection pool: asyncpg, with JSON columns as Python values, opened when the node starts."""

from __future__ import annotations

import asyncio
import datetime
import logging
import time

import asyncpg
import msgspec

from ..background import Background
from .migrations import migrate

log = logging.getLogger(__name__)

#: What a call to PostgreSQL raises when the database is away or refuses: the
#: archiver waits and tries again; a read answers 503.
RECORD_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    OSError,
    ConnectionError,
    TimeoutError,
)

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def at(ms: int | str | None) -> datetime.datetime | None:
    """A time in milliseconds since the epoch (as Redis keeps it) as a timestamptz."""
    if ms in (None, ""):
        return None
    return datetime.datetime.fromtimestamp(int(ms) / 1000, datetime.UTC)


def ms(value: datetime.datetime | None) -> int | None:
    """The other way round."""
    return None if value is None else round(value.timestamp() * 1000)


async def _init(connection: asyncpg.Connection) -> None:
    for kind in ("jsonb", "json"):
        await connection.set_type_codec(
            kind, encoder=lambda value: _encode(value).decode(), decoder=_decode, schema="pg_catalog"
        )


async def open_pool(url: str, size: int) -> asyncpg.Pool:
    """A pool of up to `size` connections, after applying the migrations the database lacks."""
    pool: asyncpg.Pool = await asyncpg.create_pool(url, min_size=1, max_size=size, init=_init)
    try:
        # On the pool's first connection: a connection of its own would cost PostgreSQL a
        # backend started and ended at every node start.
        async with pool.acquire() as connection:
            if applied := await migrate(connection):
                log.info("database schema upgraded to version %d", applied[-1])
    except BaseException:
        pool.terminate()
        raise
    return pool


class Database(Background):
    """The node's pool. The node does not serve before the schema is current: it waits
    for PostgreSQL up to `connect_timeout_s` at start. Afterwards an outage only
    delays the archive (the live path never calls PostgreSQL)."""

    def __init__(self, url: str, size: int, connect_timeout_s: float = 30.0) -> None:
        self.url = url
        self.size = size
        self.connect_timeout_s = connect_timeout_s
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open (Database.start)")
        return self._pool

    async def start(self) -> None:
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            try:
                self._pool = await open_pool(self.url, self.size)
                return
            except (OSError, ConnectionError, asyncpg.CannotConnectNowError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not answer within {self.connect_timeout_s:.0f}s: {exc}"
                    ) from exc
                log.warning("waiting for PostgreSQL: %s", exc)
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 5)
            except TimeoutError:
                pool.terminate()

    async def ping(self) -> None:
        async with self.pool.acquire(timeout=2) as connection:
            await connection.fetchval("SELECT 1", timeout=2)
