"""The transitions a customer's socket asks for (and the presence of any socket)."""

from __future__ import annotations

from typing import Any

import msgspec

from ..domain.errors import ErrorCode, SwitchboardError
from .clock import now_ms
from .engine import Engine
from .results import ChatStarted, MessagePosted, PageViewed, SessionEnded

_json_encode = msgspec.json.Encoder().encode


class CustomerCommands(Engine):
    async def connect(
        self, kind: str, ident: str, conn_id: str, token_version: str = "", now: int | None = None
    ) -> Any:
        return await self._run("connect", kind, ident, conn_id, token_version, now=now)

    async def disconnect(self, kind: str, ident: str, conn_id: str, now: int | None = None) -> Any:
        return await self._run("disconnect", kind, ident, conn_id, now=now)

    async def start_chat(
        self,
        *,
        visitor_id: str,
        conversation_id: str,
        session_id: str,
        queue: str = "",
        language: str = "",
        skills: list[str] | None = None,
        channel: str = "",
        customer: dict[str, str] | None = None,
        attributes: dict[str, str] | None = None,
        text: str = "",
        mode: str = "new",
        client_msg_id: str = "",
        hold_until: int | None = None,
        closed_message: str = "",
        invite_id: str = "",
        priority: int = 0,
        verified: bool = False,
        bot_stage: bool = False,
        summary: str = "",
        now: int | None = None,
    ) -> ChatStarted:
        """Queues a new session; with `hold_until` (the queue is closed) it waits
        unrouted until then, and the customer gets `closed_message`; with
        `invite_id` it accepts that invitation, in its queue. `priority` raises
        the chat's within its queue (refused above the queue's `max_chat_priority`);
        `verified`: the host site vouched for the customer (a signed identity);
        `bot_stage`: offered to nobody until `handoff` (a bot talks with the customer first).
        With `mode="reopen"` a new session of the conversation, in its queue (the
        empty fields and the priority are the conversation's)."""
        result: ChatStarted = await self._run(
            "start_chat",
            visitor_id,
            conversation_id,
            session_id,
            queue,
            language,
            _json_encode(skills or []),
            channel,
            _json_encode(customer or {}),
            _json_encode(attributes or {}),
            text,
            mode,
            client_msg_id,
            "" if hold_until is None else hold_until,
            closed_message,
            invite_id,
            priority,
            "1" if verified else "0",
            "bot" if bot_stage else "",
            summary,
            now=now,
        )
        return result

    async def post_message(
        self,
        cid: str,
        role: str,
        sender: str,
        display_name: str,
        text: str,
        client_msg_id: str = "",
        kind: str = "message",
        extras: dict[str, Any] | None = None,
        now: int | None = None,
    ) -> MessagePosted:
        """Appends and publishes a message or note. Raises `ConversationEnded` when a
        customer writes into an ended session (the caller opens a new one). `extras`:
        `{rich}`, a customer's `{choice, reply_to}`, or `{attachment}`: a file sent, which
        makes the message one of kind `attachment` (see message.lua)."""
        k = self.keys

        keys = [k.conversation(cid), k.history(cid), k.client_msg_ids(cid)]
        if not self.sharded:
            keys.append(k.archive_dirty)  # marked in the same step

        async def post() -> MessagePosted:
            posted: MessagePosted = await self._conversation_script(
                "message",
                keys,
                now_ms() if now is None else now,
                kind,
                role,
                sender,
                display_name,
                text,
                client_msg_id,
                _json_encode(extras).decode() if extras else "",
            )
            if self.sharded:
                # the archive's set lives on another shard: marked before the sender's ack
                await self.mark_archive_dirty([cid])
            return posted

        try:
            return await post()
        except SwitchboardError as exc:
            # The message side may lag its routing record: a node died between a
            # routing step and applying its conversation ops (the repair deadline
            # would apply them seconds later). Apply them now and try once more.
            if exc.code not in (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN, ErrorCode.CONFLICT):
                raise
            if not await self.catch_up(cid):
                raise
            return await post()

    async def catch_up(self, cid: str) -> bool:
        """Applies the conversation's pending ops now; whether there were any."""
        return bool(await self._run("outbox_pending", cid, "now"))

    async def relay(self, cid: str, role: str, sender: str, frame: dict[str, Any]) -> None:
        payload = _json_encode(frame)
        await self._conversation_script("relay", [self.keys.conversation(cid)], role, sender, payload, payload=payload)

    async def end_chat(self, visitor_id: str, now: int | None = None) -> SessionEnded:
        ended: SessionEnded = await self._run("end_session", "customer", visitor_id, "", now=now)
        return ended

    async def page_view(
        self,
        visitor_id: str,
        url: str,
        title: str | None,
        web_session_idle_ms: int,
        rules_version: str = "",
        matches: tuple[tuple[str, float], ...] = (),
        now: int | None = None,
    ) -> PageViewed:
        """Records a page view in the visitor's journey and web session and arms the
        invite timers of `matches` (rule id, seconds on page), the rules of version
        `rules_version` that match the url. `{stale: true}` (nothing written) when the
        rules changed since; an empty version skips that check."""
        viewed: PageViewed = await self._run(
            "page_view",
            visitor_id,
            url,
            title or "",
            web_session_idle_ms,
            rules_version,
            _json_encode(matches),
            now=now,
        )
        return viewed

    async def invite(
        self, visitor_id: str, queue: str, text: str, agent: str = "", now: int | None = None
    ) -> dict[str, Any]:
        """An outbound invitation, by an agent of the queue or (no agent) the admin."""
        return await self._step("invite", visitor_id, "", queue, text, agent, now=now)

    async def dismiss_invite(self, visitor_id: str, invite_id: str, now: int | None = None) -> dict[str, Any]:
        return await self._step("dismiss_invite", visitor_id, invite_id, now=now)

    async def csat(self, visitor_id: str, rating: int, comment: str = "", now: int | None = None) -> dict[str, Any]:
        return await self._step("csat", visitor_id, rating, comment, now=now)
