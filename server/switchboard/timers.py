"""The deadline sweeper: every node runs one; expiry steps are idempotent, so
nodes racing on the same deadline do no harm and a dead node loses no timer.

The sweeper also renews the node's own liveness deadline (`node:<id>`): when a
node dies, that deadline falls due and another node drops its sockets. It renews
it four times within the deadline, not at every tick: a tick looks for due
deadlines many times a second, and the renewal would double its Redis work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from .background import Background
from .domain.errors import SwitchboardError
from .store.clock import now_ms
from .store.router import Router

log = logging.getLogger(__name__)

#: Renewals of the node's liveness deadline within one deadline.
BEATS_PER_TTL = 4


class Sweeper(Background):
    def __init__(
        self,
        router: Router,
        tick_s: float,
        node_id: str,
        node_ttl_s: float,
        on_revived: Callable[[], Awaitable[None]],
    ) -> None:
        self._router = router
        self._tick_s = tick_s
        self._node_id = node_id
        self._node_ttl_ms = int(node_ttl_s * 1000)
        self._on_revived = on_revived
        self._beat_every_s = node_ttl_s / BEATS_PER_TTL
        self._beaten_at: float | None = None  # monotonic time of the last renewal
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-sweeper")

    async def stop(self) -> None:
        self._stop.set()
        if self._task:
            await self._task

    async def beat(self) -> None:
        if await self._router.heartbeat(self._node_id, self._node_ttl_ms) and self._beaten_at is not None:
            # Declared lost while alive (Redis was away too long): its sockets were
            # dropped, so register the ones still open again.
            log.warning("node %s was declared lost; registering its sockets again", self._node_id)
            await self._on_revived()
        self._beaten_at = time.monotonic()

    async def sweep_once(self) -> int:
        """Runs every deadline due now; returns how many fired."""
        fired = 0
        now = now_ms()
        for member in await self._router.due_deadlines(now):
            try:
                fired += await self._router.expire(member)
            except SwitchboardError as exc:
                log.warning("deadline %s: %s", member, exc.message)
        return fired

    async def _run(self) -> None:
        outage = False
        while not self._stop.is_set():
            try:
                if self._beaten_at is None or time.monotonic() - self._beaten_at >= self._beat_every_s:
                    await self.beat()
                await self.sweep_once()
                if outage:
                    log.info("deadline sweeps resumed")
                outage = False
            except SwitchboardError as exc:
                if not outage:  # once per outage, not once per tick
                    log.warning("deadline sweeps paused: %s", exc.message)
                outage = True
            except Exception:
                log.exception("sweep failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick_s):
                    await self._stop.wait()
