"""How every part that runs beside a node's requests starts and stops: as an async context manager.

The lifespan (gateway/app.py) enters them in order on one `AsyncExitStack`, so they stop in the
reverse order by construction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


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
