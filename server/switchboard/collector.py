"""How a node runs Python's cyclic garbage collector without stalling its sockets.

A full collection walks every container object the process holds: about 150
for each open socket (its chain of coroutines, frames and buffers). It runs
whenever the long-lived objects have grown by a quarter, so a node with a few
thousand sockets stalled every socket for tens of milliseconds, again and
again, and each stall showed in the routing and relay latency tails.

So the node moves what has lived a while out of the collector's sight
(`gc.freeze`): every `freeze_every_s` it freezes every object alive, and the
automatic collections walk only what is younger. Objects that become cyclic
garbage while frozen (a closed socket's coroutines) wait for the next full
sweep: every `full_every_s` the node unfreezes everything, collects it all
once, and freezes again. Memory held by such garbage is bounded by what the
node frees in one `full_every_s`; the long stall comes once per period instead
of every few seconds.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

from .background import Background, cancel_and_wait

log = logging.getLogger(__name__)


class Collector(Background):
    def __init__(self, freeze_every_s: float, full_every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.freeze_every_s = freeze_every_s
        self.full_every_s = max(full_every_s, freeze_every_s)
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._next_full = clock() + self.full_every_s

    @property
    def enabled(self) -> bool:
        return self.freeze_every_s > 0

    async def start(self) -> None:
        if not self.enabled or self._task is not None:
            return
        # What the node built to start (modules, the app, its settings) lives as long as the process.
        gc.collect()
        gc.freeze()
        self._next_full = self.clock() + self.full_every_s
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gc-freeze")

    async def stop(self) -> None:
        if self._task is None:
            return
        await cancel_and_wait(self._task)
        self._task = None
        gc.unfreeze()

    def step(self) -> None:
        """Freezes what is alive now; once per `full_every_s`, first collects everything."""
        if self.clock() >= self._next_full:
            gc.unfreeze()
            started = time.perf_counter()
            found = gc.collect()
            log.debug("full collection: %d objects freed in %.1f ms", found, (time.perf_counter() - started) * 1000)
            self._next_full = self.clock() + self.full_every_s
        gc.freeze()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.freeze_every_s)
            self.step()
