"""The administration's writes: queues, agents, tokens, not-ready reasons and the key of signed ids."""

from __future__ import annotations

import json
import secrets

from .engine import Engine
from .errors import call


class AdminCommands(Engine):
    async def put_queue(self, qid: str, config_json: bytes) -> None:
        await self._run("put_queue", qid, config_json)

    async def delete_queue(self, qid: str) -> None:
        await self._run("delete_queue", qid)

    async def put_agent(self, aid: str, config_json: bytes) -> bool:
        return bool((await self._step("put_agent", aid, config_json))["created"])

    async def delete_agent(self, aid: str) -> None:
        await self._run("delete_agent", aid)

    async def put_not_ready_reasons(self, reasons: list[str]) -> None:
        """Replaces the deployment's not-ready reasons (an empty list: any reason is taken)."""
        await call(self.redis.set(self.keys.not_ready_reasons, json.dumps(reasons)))

    async def not_ready_reasons(self) -> list[str]:
        raw = await call(self.redis.get(self.keys.not_ready_reasons))
        reasons: list[str] = json.loads(raw) if raw else []
        return reasons

    async def ensure_id_key(self) -> None:
        """Writes the random key of offer and invitation ids, unless a node did already."""
        await call(self.redis.set(self.keys.id_key, secrets.token_hex(32), nx=True))

    async def revoke_tokens(self, aid: str) -> None:
        """Every token issued for the agent so far stops working; its open sockets close."""
        await self._run("revoke_token", aid)
