"""The bot socket `/ws/bot`: a socket bot serves the bot stage of the queues whose `bot` names it.

After `hello {api_key, name}` the socket follows the bot's channel (`b:<name>`, on every node
through the hub, so the customer may be on another node), and the welcome lists the chats
already waiting in its stage with what was said. `BotAttendance` (bot_attendance.py) hands the chats of a
bot that no node has seen for SWITCHBOARD_BOT_ABSENT_HANDOFF_S to their queues.
"""

from __future__ import annotations

import logging
from typing import Any

from ..domain import frames as f
from ..domain.accounts import ApiKeyScope
from ..domain.errors import CloseCode, ErrorCode, SwitchboardError
from ..record.database import RECORD_ERRORS
from ..store.clock import now_ms
from .attachment_urls import signed_afresh
from .http.principals import API_KEY_PREFIX, is_admin, secret_hash
from .limits import FrameRate
from .socket import ClientSocket, HandshakeRefused, Result, posted

log = logging.getLogger(__name__)

BOT_API_KEY_SCOPES = frozenset({ApiKeyScope.ADMIN, ApiKeyScope.BOT})


class BotSocket(ClientSocket):
    command_type = f.BotCommand
    hello_type = f.BotHello
    role = "bot"
    kind = "b"

    async def hello(self, hello: f.BotHello) -> None:
        if not await self._key_allowed(hello.api_key):
            raise HandshakeRefused(CloseCode.UNAUTHORIZED, "an API key of scope bot or admin is required")
        services = self.services
        router = services.router
        self.ident = hello.name
        # following the channel first: nothing said meanwhile is missed (doubles are dropped by seq)
        await services.hub.join(self._recipient, self)
        self._connected = True
        services.bots.arrived(hello.name)
        await router.mark_bots_seen([hello.name], now_ms())
        waiting = await self._waiting_conversations(await router.bot_conversations(hello.name))
        self.send(f.BotWelcome(name=hello.name, conversations=waiting))
        self.release_buffered()

    async def _key_allowed(self, api_key: str) -> bool:
        if is_admin(self.services, f"Bearer {api_key}"):
            return True
        if not api_key.startswith(API_KEY_PREFIX):
            return False
        try:
            key = await self.services.accounts.key_by_hash(secret_hash(api_key))
        except RECORD_ERRORS:  # the keys are in PostgreSQL: the bot tries again later (1011)
            raise SwitchboardError(ErrorCode.UNAVAILABLE, "API keys cannot be checked now") from None
        return key is not None and key.scope in BOT_API_KEY_SCOPES

    async def _waiting_conversations(self, cids: list[str]) -> list[f.BotConversationState]:
        router, directory = self.services.router, self.services.directory
        sessions = {cid: sid for cid in cids if (sid := await directory.current_session(cid)) is not None}
        cards = await router.session_cards(list(sessions.values()))
        waiting = []
        for cid, card in zip(sessions, cards, strict=True):
            messages = await router.history(cid, audience="customer")
            signed_afresh(self.settings, messages)
            if messages:
                self.replayed(cid, messages[-1]["seq"])
            waiting.append(
                f.BotConversationState(
                    conversation_id=cid,
                    session_id=sessions[cid],
                    queue=card["queue"]["id"],
                    customer=card.get("customer") or {},
                    attributes=card.get("attributes") or {},
                    messages=messages,
                )
            )
        return waiting

    def frame_rate(self) -> FrameRate:
        per_s = self.settings.bot_frames_per_s
        return FrameRate(self.settings, per_s, int(per_s * 5))

    @property
    def _recipient(self) -> str:
        return f"{self.kind}:{self.ident}"

    async def register(self) -> None:
        """A bot's presence is its `seen` mark (BotAttendance), not a connection record."""

    async def goodbye(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self.services.bots.left(self.ident)
        await self.services.hub.leave(self._recipient, self)

    async def handle(self, command: Any) -> Result:
        router = self.services.router
        match command:
            case f.BotSay():
                text, extras = f.message_content(command.text, command.rich, self.settings.agent_text_limit)
                name = await self._display_name(command.conversation_id)
                stored = await router.post_message(
                    command.conversation_id, "bot", self.ident, name, text, extras=extras
                )
                return posted(command.ref, stored)
            case f.BotHandoff():
                await self._own(command.conversation_id)
                handed = await router.handoff(
                    command.conversation_id, command.queue or "", command.summary or "", command.attributes
                )
                return {"conversation_id": handed["conversation_id"], "session_id": handed["session_id"]}
            case f.BotEnd():
                await self._own(command.conversation_id)
                ended = await router.end_by_automation(command.conversation_id, command.reason)
                return {"conversation_id": command.conversation_id, "session_id": ended["session_id"]}
            case f.BotHello():
                raise SwitchboardError(ErrorCode.CONFLICT, "hello was already received")
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "unknown frame type")

    async def _own(self, cid: str) -> None:
        if not await self.services.router.in_bot_stage_of(cid, self.ident):
            raise SwitchboardError(ErrorCode.CONFLICT, "the conversation is not in your bot stage")

    async def _display_name(self, cid: str) -> str:
        """The name the queue gives its bot, shown on the bot's messages."""
        directory = self.services.directory
        queue, _ = await directory.conversation_route(cid)
        config = await directory.queue_config(queue) if queue else None
        return config.bot.display_name if config is not None and config.bot is not None else ""
