"""The customer's chat flows, between the socket and the store: come back to a conversation, start a
chat, write (which reopens an ended one), accept an invitation. Each new session checks the site's
origin and the queue's hours first.

The socket decodes and answers; the rules themselves are in domain/admission.py and domain/returning.py.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec

from ..domain import frames as f
from ..domain.admission import Hold, hold_for_hours, origin_allowed, queue_origins
from ..domain.bots import CUSTOMER_ASKED_SUMMARY
from ..domain.config import QueueConfig
from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.hours import open_now
from ..domain.identity import IdentityClaims, chat_priority, identified_customer
from ..domain.prechat import check_prechat
from ..domain.returning import Replay, goes_on, replay_from
from ..domain.states import Channel
from ..record.database import RECORD_ERRORS
from ..record.reads import RecordReads
from ..store.clock import now_ms
from ..store.directory import Directory
from ..store.errors import ConversationEnded
from ..store.results import ChatStarted, MessagePosted
from ..store.router import Router
from .auth import new_id
from .bot_webhook import WebhookBots

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Site:
    """Where a customer socket's page comes from: its Origin header and the Host it asked for."""

    origin: str | None
    host: str | None


class CustomerChats:
    def __init__(
        self,
        router: Router,
        directory: Directory,
        record: RecordReads,
        node_origins: Collection[str] | None,
        text_limit: int,
        bot_webhooks: WebhookBots,
    ) -> None:
        self._router = router
        self._directory = directory
        self._record = record
        self._node_origins = node_origins
        self._text_limit = text_limit
        self._bot_webhooks = bot_webhooks

    async def may_connect(self, site: Site) -> bool:
        """The node's allowed origins, pages it served, and any site a queue allows (which
        queues that site may open chats in is checked when it opens one)."""
        if origin_allowed(site.origin, self._node_origins, site.host):
            return True
        try:
            return site.origin in await self._directory.queue_origins()
        except SwitchboardError:  # the store is away: its hello would fail anyway
            return False

    async def latest_kept(self, visitor_id: str) -> str | None:
        """The newest conversation PostgreSQL keeps of a visitor that Redis no longer knows."""
        try:
            return await self._record.latest_conversation(visitor_id)
        except RECORD_ERRORS:
            log.warning("visitor %s: its conversations not looked up, PostgreSQL is away", visitor_id)
            return None

    async def bring_back(self, conversation_id: str) -> str | None:
        """A visitor comes back to a conversation that left Redis after the live window: a
        messaging thread goes on, so it comes back from PostgreSQL, history and all; returns
        its last session id (None: not kept, or a webchat, which is over)."""
        try:
            snapshot = await self._record.snapshot(conversation_id)
        except RECORD_ERRORS:
            log.warning("conversation %s not brought back: PostgreSQL is away", conversation_id)
            return None  # the visitor may start a new chat; a hello never fails for the archive
        if snapshot is None or snapshot.record["channel"] != Channel.MESSAGING:
            return None
        # None: another node brought it back first
        return await self._router.restore_conversation(snapshot) or await self._directory.current_session(
            conversation_id
        )

    async def returning(self, session_id: str | None) -> dict[str, Any] | None:
        """The card of the conversation a visitor comes back to, if it goes on."""
        if session_id is None:
            return None
        card: dict[str, Any] = (await self._router.session_cards([session_id]))[0]
        return card if goes_on(card["status"], card["channel"]) else None

    async def replay(self, conversation_id: str, last_seq: int) -> tuple[Replay, list[dict[str, Any]]]:
        """What a resuming customer missed, from the stored history."""
        replay = replay_from(last_seq, await self._router.history_length(conversation_id))
        return replay, await self._router.history(conversation_id, replay.after, audience="customer")

    async def start(
        self, visitor_id: str, command: f.StartChat, site: Site, identity: IdentityClaims | None = None
    ) -> ChatStarted:
        """A new chat; under a signed identity its customer is the identity's, verified."""
        text = f.check_text(command.text, self._text_limit) if command.text else ""
        given = {k: v for k, v in msgspec.structs.asdict(command.customer).items() if v} if command.customer else {}
        customer = identified_customer(identity, given)
        config = await self._directory.queue_config(command.queue)
        if config is not None:
            check_prechat(config.prechat_fields, command.attributes)
        channel = command.channel.value
        left_message = config is not None and await self._leaves_a_message(command.queue, config, channel)
        if left_message:
            channel = Channel.MESSAGING.value
        hold = await self._admit(command.queue, channel, site, config)
        # a queue's bot talks with the customer first, while its team could answer the chat at once
        bot = config.bot if config is not None and not left_message and hold.until is None else None
        result = await self._router.start_chat(
            visitor_id=visitor_id,
            conversation_id=new_id("c"),
            session_id=new_id("s"),
            queue=command.queue,
            language=command.language,
            skills=command.skills,
            channel=channel,
            customer=customer,
            attributes=command.attributes,
            text=text,
            priority=chat_priority(command.priority, identity, config.max_chat_priority if config is not None else 0),
            hold_until=hold.until,
            closed_message=hold.closed_message,
            verified=identity is not None,
            bot_stage=bot is not None,
        )
        if bot is not None and bot.is_webhook and "seq" in result:
            self._bot_webhooks.customer_wrote(result["conversation_id"], result["seq"])
        if left_message:
            result["left_message"] = True
            if hold.until is not None:
                result["expected_reply_at"] = hold.until
        return result

    async def _leaves_a_message(self, queue: str, config: QueueConfig, channel: str) -> bool:
        """A webchat becomes a message left for the team (a `messaging` conversation that waits
        for an agent) when the queue says so and it is closed or nobody of it is signed in."""
        if config.offline != "leave_message" or channel != Channel.WEBCHAT:
            return False
        return not open_now(config.business_hours, now_ms()) or not await self._directory.queue_staffed(queue)

    async def write(
        self,
        visitor_id: str,
        conversation_id: str | None,
        display_name: str,
        text: str,
        client_msg_id: str,
        site: Site,
        choice: Choice | None = None,
    ) -> MessagePosted | ChatStarted:
        """Posts to the conversation; into an ended session, opens a new one in the same conversation.
        A `choice` answers a rich message of the session (the label it picked becomes the text)."""
        text = f.check_text(text, self._text_limit)
        conversation_id = current_conversation(conversation_id)
        result: MessagePosted | ChatStarted
        try:
            result = await self._router.post_message(
                conversation_id,
                "customer",
                visitor_id,
                display_name,
                text,
                client_msg_id,
                extras={"choice": choice.value, "reply_to": choice.reply_to} if choice else None,
            )
            if result.get("bot_hook"):
                self._bot_webhooks.customer_wrote(conversation_id, result["seq"])
        except ConversationEnded:
            queue, channel = await self._directory.conversation_route(conversation_id)
            hold = await self._admit(queue, channel, site)
            result = await self._router.start_chat(
                visitor_id=visitor_id,
                conversation_id=conversation_id,
                session_id=new_id("s"),
                queue="",
                language="",
                skills=[],
                channel="",
                customer={},
                attributes={},
                text=text,
                mode="reopen",
                client_msg_id=client_msg_id,
                hold_until=hold.until,
                closed_message=hold.closed_message,
            )
        return result

    async def request_agent(self, conversation_id: str) -> dict[str, Any]:
        """The customer asks its bot for a person: the chat leaves the bot stage for its queue."""
        handed = await self._router.handoff(conversation_id, "", CUSTOMER_ASKED_SUMMARY)
        return {"conversation_id": handed["conversation_id"], "session_id": handed["session_id"]}

    async def accept_invite(
        self, visitor_id: str, invite_id: str, language: str, site: Site, identity: IdentityClaims | None = None
    ) -> ChatStarted:
        """A chat in the invitation's queue, in the widget's language; refused like a start_chat
        when that queue has closed since, does not serve that language, or when this site may
        not open chats in it."""
        queue = await self._directory.invite_queue(invite_id, visitor_id)
        await self._admit(queue, Channel.WEBCHAT, site)
        result = await self._router.start_chat(
            visitor_id=visitor_id,
            conversation_id=new_id("c"),
            session_id=new_id("s"),
            queue="",
            language=language,
            skills=[],
            channel="webchat",
            customer=identified_customer(identity, {}),
            attributes={},
            invite_id=invite_id,
            verified=identity is not None,
        )
        return result

    async def _admit(self, queue: str | None, channel: str, site: Site, config: QueueConfig | None = None) -> Hold:
        """Refuses a site the queue does not allow, or a closed queue's webchat; else how the session waits.
        `config`: the queue's, when the caller has read it already."""
        if config is None and queue:
            config = await self._directory.queue_config(queue)
        if site.origin is not None and queue:
            allowed = queue_origins(config.allowed_origins if config is not None else None, self._node_origins)
            if not origin_allowed(site.origin, allowed, site.host):
                raise SwitchboardError(ErrorCode.FORBIDDEN, "this site may not open chats in this queue")
        return hold_for_hours(config.business_hours if config is not None else None, now_ms(), channel)


@dataclass(frozen=True)
class Choice:
    """What a customer picked in a rich message: the option's value, and that message's seq."""

    value: str
    reply_to: int


def current_conversation(conversation_id: str | None) -> str:
    """The socket's conversation, for the commands that need one."""
    if conversation_id is None:
        raise SwitchboardError(ErrorCode.CONFLICT, "start a chat first")
    return conversation_id
