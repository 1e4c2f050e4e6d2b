"""The transitions an agent's socket asks for: state, offers, the sessions it handles, supervision."""

from __future__ import annotations

import json
from typing import Any

from ..domain.cards import build_card
from .clock import now_ms
from .engine import Engine


class AgentCommands(Engine):
    async def set_state(self, aid: str, state: str, reason: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._step("set_state", aid, state, reason, now=now)

    async def accept(self, aid: str, offer_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("accept", aid, offer_id, now=now)

    async def decline(self, aid: str, offer_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("decline", aid, offer_id, now=now)

    async def end_session(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("end_session", "agent", aid, cid, now=now)

    async def wrap_up(
        self,
        aid: str,
        cid: str,
        codes: str | list[str],
        notes: str = "",
        now: int | None = None,
        next_state: str = "",
        reason: str = "",
    ) -> dict[str, Any]:
        """Closes the agent's wrap-up with one code or several; `next_state` ("" keeps it) is set afterwards."""
        given = [codes] if isinstance(codes, str) else codes
        return await self._step("wrap_up", aid, cid, json.dumps(given), notes, next_state, reason, now=now)

    async def transfer(
        self, aid: str, cid: str, queue: str | None = None, agent: str | None = None, now: int | None = None
    ) -> dict[str, Any]:
        """To a queue (cold) or to an agent (warm: an offer of kind transfer)."""
        mode, target = ("queue", queue) if queue is not None else ("agent", agent)
        return await self._step("transfer", aid, cid, mode, target, now=now)

    async def conference(self, aid: str, cid: str, target: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("conference", aid, cid, target, now=now)

    async def leave(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("leave", aid, cid, "leave", now=now)

    async def end_conference(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("leave", aid, cid, "end_conference", now=now)

    async def request_help(self, aid: str, cid: str, text: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._step("request_help", aid, cid, text, now=now)

    async def verify_contact(
        self, aid: str, cid: str, email: str = "", phone: str = "", now: int | None = None
    ) -> dict[str, Any]:
        now = now_ms() if now is None else now
        result = await self._step("verify_contact", aid, cid, email, phone, now=now)
        return {"conversation_id": cid, "card": build_card(result["session"], now)}

    async def monitor(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        """Starts a supervisor's silent monitoring; returns the card and the history so far."""
        now = now_ms() if now is None else now
        result = await self._step("monitor", aid, cid, "monitor", now=now)
        return {
            "conversation_id": cid,
            "monitoring": True,
            "card": build_card(result["session"], now),
            "messages": result["messages"],
        }

    async def unmonitor(self, aid: str, cid: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("monitor", aid, cid, "unmonitor", now=now)
