"""The socket bots' attendance: which bots this node serves, and the chats of bots that no node
has seen for SWITCHBOARD_BOT_ABSENT_HANDOFF_S, handed to their queues."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from ..background import Background, cancel_and_wait
from ..domain.bots import ABSENT_SUMMARY
from ..domain.errors import SwitchboardError
from ..store.clock import now_ms
from ..store.router import Router

log = logging.getLogger(__name__)


class BotAttendance(Background):
    """Marks the bots connected to this node seen, and hands the chats of a bot away for
    longer than `absent_s` to their queues (every node does; a handoff done twice is refused)."""

    def __init__(self, router: Router, absent_s: float) -> None:
        self._router = router
        self._absent_ms = int(absent_s * 1000)
        self._tick_s = max(0.1, min(5.0, absent_s / 4))
        self._here: Counter[str] = Counter()
        self._task: asyncio.Task[None] | None = None

    def arrived(self, name: str) -> None:
        self._here[name] += 1

    def left(self, name: str) -> None:
        self._here[name] -= 1
        if self._here[name] <= 0:
            del self._here[name]

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bot-attendance")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            try:
                await self.sweep(now_ms())
            except SwitchboardError as exc:  # the store is away: the next tick tries again
                log.warning("bot attendance skipped: %s", exc.message)

    async def sweep(self, now: int) -> None:
        await self._router.mark_bots_seen(list(self._here), now)
        for cid in await self._router.abandoned_bot_conversations(now, self._absent_ms):
            with contextlib.suppress(SwitchboardError):  # another node handed it off, or it ended
                await self._router.handoff(cid, "", ABSENT_SUMMARY)
                log.info("conversation %s handed to its queue: its bot is away", cid)
