"""How every part that runs beside a node's requests starts and stops: as an async context manager.

The lifespan (gateway/app.py) enters them in order on one `AsyncExitStack`, so they stop in the
reverse order by construction.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any, Self


class Background:
    """`async with part:` starts it; leaving the block stops it. Subclasses implement `start` and `stop`."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancels a background loop and waits until it is gone.

    A cancel that lands inside a Redis or PostgreSQL call can come back as that client's
    connection error, which a loop built to outlive outages takes for one and survives:
    cancelled once, it would run on and its node would never finish stopping. So cancel
    again until the task is done."""
    if task is None:
        return
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.2)
    with contextlib.suppress(asyncio.CancelledError):
        await task
