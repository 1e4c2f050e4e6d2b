"""What automation does to a conversation (the conversations API and bots): hand a bot's
session over to a queue, end a session with a reason in words."""

from __future__ import annotations

from typing import Any

import msgspec

from .engine import Engine

_json_encode = msgspec.json.Encoder().encode


class AutomationCommands(Engine):
    async def handoff(
        self,
        cid: str,
        queue: str = "",
        summary: str = "",
        attributes: dict[str, str] | None = None,
        now: int | None = None,
    ) -> dict[str, Any]:
        """The session in the bot stage waits in `queue` (its own when "") for an agent."""
        encoded = _json_encode(attributes or {}).decode()
        return await self._step("handoff", cid, queue, summary, encoded, now=now)

    async def end_by_automation(self, cid: str, detail: str, now: int | None = None) -> dict[str, Any]:
        """Ends the conversation's open session (`api_ended`), `detail` saying why."""
        return await self._step("end_session", "api", "", cid, detail, now=now)
