"""The transitions a supervisor's socket asks for when it steps into a conversation of its queues:
barging in (joining it as a participant) and reassigning it. Whispers are notes on the message
path (`post_message` with role "supervisor"); leaving is `leave`, as for a conference guest."""

from __future__ import annotations

from typing import Any

from .engine import Engine


class StepInCommands(Engine):
    async def barge_in(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("barge_in", aid, cid, now=now)

    async def reassign(
        self, aid: str, cid: str, queue: str | None = None, agent: str | None = None, now: int | None = None
    ) -> dict[str, Any]:
        """To an agent (assigned at once) or back to a queue (waiting again, keeping its place in time)."""
        mode, target = ("queue", queue) if queue is not None else ("agent", agent)
        return await self._step("reassign", aid, cid, mode, target, now=now)
