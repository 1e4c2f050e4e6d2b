"""The reads of the desk, the supervisor view and the admin API: cards, queues, visitors, transfer targets."""

from __future__ import annotations

from typing import Any

import msgspec

from ..domain.cards import build_card
from .clock import now_ms
from .engine import Engine
from .lists import listed

_json_decode = msgspec.json.Decoder().decode


class Views(Engine):
    async def session_cards(self, session_ids: list[str], now: int | None = None) -> list[dict[str, Any]]:
        if not session_ids:
            return []
        now = now_ms() if now is None else now
        views = await self._run("view_sessions", *session_ids, now=now)
        return [build_card(v, now) for v in views or []]

    async def open_session_cards(self, qids: list[str], now: int | None = None) -> list[dict[str, Any]]:
        """The cards of the sessions of these queues that have not closed, oldest first."""
        if not qids:
            return []
        now = now_ms() if now is None else now
        views = await self._run("view_open_sessions", *qids, now=now)
        cards = [build_card(v, now) for v in views or []]
        return sorted(cards, key=lambda card: card["queued_at"])

    async def transfer_targets(self, aid: str) -> dict[str, Any]:
        """Every queue, and every other agent with whether it can take a transfer or
        a conference now, sorted for a picker: free agents first, then by name."""
        found = await self._step("view_transfer_targets", aid)

        queues = sorted(listed(found.get("queues")), key=lambda q: (q["name"].casefold(), q["id"]))
        agents = listed(found.get("agents"))
        for agent in agents:
            agent["queues"] = sorted(listed(agent.get("queues")))
        agents.sort(key=lambda a: (not a["free"], a["display_name"].casefold(), a["id"]))
        return {"queues": queues, "agents": agents}

    async def queue_views(self, qids: list[str]) -> list[dict[str, Any]]:
        if not qids:
            return []
        views = await self._run("view_queues", *qids)
        return [
            {
                "id": v["id"],
                **_json_decode(v["config"]),
                "waiting": v["waiting"],
                "longest_wait_ms": v["longest_wait_ms"],
                "agents_available": v["agents_available"],
            }
            for v in views or []
        ]

    async def online_visitors(self, cursor: str, limit: int) -> dict[str, Any]:
        """A page of the online visitors, ordered by id; `next` is the cursor of the next."""
        return await self._step("view_visitors", "online", cursor, limit)

    async def visitor(self, vid: str, now: int | None = None) -> dict[str, Any] | None:
        """One visitor: presence, current page, current web session with its pages, and
        the cards of its conversations (newest first); None when unknown."""
        now = now_ms() if now is None else now
        view: dict[str, Any] | None = await self._run("view_visitors", "one", vid, now=now)
        if view is None:
            return None
        view["conversations"] = await self.session_cards(view.pop("sessions"), now)
        return view
