"""The customer socket `/ws/customer`: the website widget's side of a chat."""

from __future__ import annotations

from typing import Any

import msgspec

from ..domain import frames as f
from ..domain.errors import CloseCode, ErrorCode, SwitchboardError
from ..domain.hours import is_open, next_opening
from ..domain.states import Channel
from ..store.clock import now_ms
from ..store.errors import ConversationEnded
from .auth import new_id
from .limits import same_origin
from .socket import ClientSocket, HandshakeRefused


class CustomerSocket(ClientSocket):
    command_type = f.CustomerCommand
    hello_type = f.CustomerHello
    role = "customer"

    kind = "v"
    visitor_id: str = ""
    conversation_id: str | None = None
    display_name: str = ""

    async def hello(self, hello: f.CustomerHello) -> None:
        services = self.services
        if hello.visitor_token is not None:
            visitor_id = services.signer.verify_visitor(hello.visitor_token)
            if visitor_id is None:
                raise HandshakeRefused(CloseCode.UNAUTHORIZED, "invalid visitor token")
            token = hello.visitor_token
        else:
            visitor_id = new_id("v")
            token = services.signer.visitor_token(visitor_id)
        self.visitor_id = visitor_id
        view = await self.join(visitor_id)
        card = None
        if view.get("session"):
            card = (await services.router.session_cards([view["session"]["id"]]))[0]
            self.display_name = (card["customer"] or {}).get("name") or ""
            # A closed webchat is over: the visitor starts a new chat. A messaging
            # conversation is a thread that goes on.
            if card["status"] == "closed" and card["channel"] == "webchat":
                card = None
        self.conversation_id = card["conversation_id"] if card else None
        welcome: dict[str, Any] = {
            "type": "welcome", "visitor_id": visitor_id, "visitor_token": token, "conversation": card,
        }
        replay: list[dict[str, Any]] = []
        resume = hello.resume
        if resume is not None and resume.conversation_id == self.conversation_id:
            stored = await services.router.history_length(self.conversation_id)
            recovered = resume.last_seq <= stored
            welcome["recovered"] = recovered
            after = resume.last_seq if recovered else 0
            replay = await services.router.history(self.conversation_id, after, audience="customer")
            # Pushes held back meanwhile are doubles only up to what the client has
            # or gets now; anything newer still goes out.
            self.replayed(self.conversation_id, replay[-1]["seq"] if replay else after)
        self.send(welcome)
        for event in replay:
            self.send(event)
        self.release_buffered()
        if hello.page is not None:
            await services.visitors.page_view(visitor_id, hello.page.url, hello.page.title)

    async def origin_allowed(self, origin: str | None) -> bool:
        """A site a queue allows (its `allowed_origins`) may load the widget too; which
        queues it may open chats in is checked when it opens one."""
        if await super().origin_allowed(origin):
            return True
        try:
            return origin in await self.services.directory.queue_origins()
        except SwitchboardError:  # the store is away: its hello would fail anyway
            return False

    async def _check_queue_origin(self, qid: str | None) -> None:
        """A queue's `allowed_origins`, when set, replace SWITCHBOARD_ALLOWED_ORIGINS for
        chats in that queue."""
        origin = self.ws.headers.get("origin")
        if origin is None or not qid:
            return
        config = await self.services.directory.queue_config(qid)
        allowed = config.allowed_origins if config is not None and config.allowed_origins is not None \
            else self.settings.allowed_origins
        if allowed is not None and origin not in allowed and not same_origin(origin, self.ws.headers.get("host")):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "this site may not open chats in this queue")

    def on_push(self, frame: dict[str, Any]) -> None:
        # Another tab of the same visitor may have started a chat.
        if frame.get("type") == "chat.queued":
            self.conversation_id = frame.get("conversation_id", self.conversation_id)

    async def _outside_hours(self, qid: str | None, channel: str) -> tuple[int | None, str]:
        """(hold until, closed message) when the queue is closed now: a webchat is
        refused with `unavailable` and the queue's message; a messaging
        conversation is kept and waits for the next opening."""
        config = await self.services.directory.queue_config(qid) if qid else None
        hours = config.business_hours if config else None
        now = now_ms()
        if hours is None or is_open(hours, now):
            return None, ""
        opens = next_opening(hours, now)
        if channel != Channel.MESSAGING or opens is None:
            raise SwitchboardError(ErrorCode.UNAVAILABLE, hours.closed_message)
        return opens, hours.closed_message

    def _current_conversation(self) -> str:
        if self.conversation_id is None:
            raise SwitchboardError(ErrorCode.CONFLICT, "start a chat first")
        return self.conversation_id

    async def handle(self, command: Any) -> dict[str, Any] | None:
        router = self.services.router
        match command:
            case f.CustomerMessage():
                text = f.check_text(command.text, self.settings.customer_text_limit)
                cid = self._current_conversation()
                try:
                    result = await router.post_message(
                        cid, "customer", self.visitor_id, self.display_name, text,
                        command.client_msg_id or "",
                    )
                except ConversationEnded:
                    queue, channel = await self.services.directory.conversation_route(cid)
                    await self._check_queue_origin(queue)
                    hold_until, closed_message = await self._outside_hours(queue, channel)
                    result = await router.start_chat(
                        visitor_id=self.visitor_id, conversation_id=cid, session_id=new_id("s"),
                        text=text, mode="reopen", client_msg_id=command.client_msg_id or "",
                        hold_until=hold_until, closed_message=closed_message,
                    )
                # After the store accepted, outside its atomic step (see gateway/indexing.py).
                await self.services.indexer.message(cid, text)
                return {"message_id": result["message_id"], "seq": result["seq"]}
            case f.StartChat():
                text = f.check_text(command.text, self.settings.customer_text_limit) if command.text else ""
                customer = {k: v for k, v in msgspec.structs.asdict(command.customer).items() if v} if command.customer else {}
                await self._check_queue_origin(command.queue)
                hold_until, closed_message = await self._outside_hours(command.queue, command.channel.value)
                result = await router.start_chat(
                    visitor_id=self.visitor_id, conversation_id=new_id("c"), session_id=new_id("s"),
                    queue=command.queue, language=command.language, skills=command.skills,
                    channel=command.channel.value, customer=customer, attributes=command.attributes, text=text,
                    hold_until=hold_until, closed_message=closed_message,
                )
                self.conversation_id = result["conversation_id"]
                self.display_name = customer.get("name", "")
                await self.services.indexer.conversation_started(self.conversation_id, customer, text)
                return result
            case f.CustomerTyping():
                cid = self._current_conversation()
                frame: dict[str, Any] = {"type": "typing", "conversation_id": cid,
                                         "from": {"role": "customer"}, "active": command.active}
                if command.preview is not None and command.active:
                    frame["preview"] = command.preview
                await router.relay(cid, "customer", self.visitor_id, frame)
                return None
            case f.Read():
                cid = self._current_conversation()
                await router.relay(cid, "customer", self.visitor_id, {
                    "type": "read", "conversation_id": cid, "seq": command.seq,
                    "from": {"role": "customer"},
                })
                return None
            case f.EndChat():
                result = await router.end_chat(self.visitor_id)
                return {"conversation_id": result["conversation_id"], "reason": result["reason"]}
            case f.PageView():
                await self.services.visitors.page_view(self.visitor_id, command.url, command.title)
                return None
            case f.AcceptInvite():
                # A chat in the invitation's queue, with the customer's defaults;
                # refused like a start_chat when that queue has closed since, or
                # when this site may not open chats in it.
                queue = await self.services.directory.invite_queue(command.invite_id, self.visitor_id)
                await self._check_queue_origin(queue)
                await self._outside_hours(queue, Channel.WEBCHAT)
                result = await router.start_chat(
                    visitor_id=self.visitor_id, conversation_id=new_id("c"), session_id=new_id("s"),
                    language="en", channel="webchat", invite_id=command.invite_id,
                )
                self.conversation_id = result["conversation_id"]
                self.display_name = ""
                await self.services.indexer.conversation_started(self.conversation_id, {}, "")
                return result
            case f.DismissInvite():
                return await router.dismiss_invite(self.visitor_id, command.invite_id)
            case f.Csat():
                return await router.csat(self.visitor_id, command.rating, command.comment or "")
            case f.CustomerHello():
                raise SwitchboardError(ErrorCode.CONFLICT, "hello was already received")
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "unknown frame type")

