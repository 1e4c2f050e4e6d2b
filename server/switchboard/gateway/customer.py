"""The customer socket `/ws/customer`: the website widget's side of a chat."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET

from ..domain import frames as f
from ..domain.config import QueueConfig
from ..domain.errors import CloseCode, ErrorCode, SwitchboardError
from ..domain.hours import next_opening, open_now
from ..domain.identity import IdentityClaims
from ..store.clock import now_ms
from ..store.directory import Directory
from .attachment_urls import signed_afresh
from .auth import IDENTIFIED_VISITOR_PREFIX, new_id
from .chats import Choice, Site, current_conversation
from .socket import ClientSocket, HandshakeRefused, Result, posted

CUSTOMER = f.Sender(role="customer")


class CustomerSocket(ClientSocket):
    command_type = f.CustomerCommand
    hello_type = f.CustomerHello
    role = "customer"

    kind = "v"
    visitor_id: str = ""
    conversation_id: str | None = None
    display_name: str = ""
    identity: IdentityClaims | None = None  # the host site's signed identity of this customer
    language: str | None = None  # the widget's, from hello

    async def hello(self, hello: f.CustomerHello) -> None:
        services = self.services
        if hello.identity is not None:
            try:
                self.identity = services.identity.verify(hello.identity)
            except SwitchboardError as refused:
                raise HandshakeRefused(CloseCode.UNAUTHORIZED, refused.message) from None
        self.language = hello.language
        if self.identity is not None:
            visitor_id = services.signer.identified_visitor(self.identity.sub)
            token = services.signer.visitor_token(visitor_id)
        elif hello.visitor_token is not None:
            token = hello.visitor_token
            verified_id = services.signer.verify_visitor(token)
            if verified_id is None:
                raise HandshakeRefused(CloseCode.UNAUTHORIZED, "invalid visitor token")
            visitor_id = verified_id
            if visitor_id.startswith(IDENTIFIED_VISITOR_PREFIX):
                # The customer signed out on the site: this browser is someone new, who must
                # not see the identified customer's conversations.
                visitor_id = new_id("v")
                token = services.signer.visitor_token(visitor_id)
        else:
            visitor_id = new_id("v")
            token = services.signer.visitor_token(visitor_id)
        self.visitor_id = visitor_id
        view = await self.join(visitor_id)
        session_id = view["session"]["id"] if view.get("session") else None
        returning_to = view.get("conversation_id")
        came_back = token == hello.visitor_token or self.identity is not None
        if returning_to is None and not view.get("known") and came_back:
            returning_to = await services.chats.latest_kept(visitor_id)  # it was idle past the live window
        if session_id is None and returning_to:
            session_id = await services.chats.bring_back(returning_to)
        card = await services.chats.returning(session_id)
        self.conversation_id = card["conversation_id"] if card else None
        self.display_name = ((card["customer"] or {}).get("name") or "") if card else ""
        welcome = f.CustomerWelcome(
            visitor_id=visitor_id,
            visitor_token=token,
            conversation=msgspec.convert(card, f.Card | None),
        )
        if hello.queue is not None and (config := await services.directory.queue_config(hello.queue)) is not None:
            welcome.queue = await widget_queue(services.directory, hello.queue, config)
        replay: list[dict[str, Any]] = []
        resume = hello.resume
        if resume is not None and resume.conversation_id == self.conversation_id:
            point, replay = await services.chats.replay(self.conversation_id, resume.last_seq)
            signed_afresh(services.settings, replay)
            welcome.recovered = point.recovered
            # Pushes held back meanwhile are doubles only up to what the client has
            # or gets now; anything newer still goes out.
            self.replayed(self.conversation_id, replay[-1]["seq"] if replay else point.after)
        self.send(welcome)
        for event in replay:
            self.send(event)
        self.release_buffered()
        if hello.page is not None:
            await services.visitors.page_view(visitor_id, hello.page.url, hello.page.title)

    async def origin_allowed(self, origin: str | None) -> bool:
        return await self.services.chats.may_connect(self._site())

    def _sender_host(self) -> str:
        """The host the transcript's email comes from: the deployment's public one, else the socket's."""
        public = self.services.settings.public_url
        host = urlsplit(public).hostname if public else self.ws.headers.get("host", "").split(":")[0]
        return host or "localhost"

    def _site(self) -> Site:
        return Site(self.ws.headers.get("origin"), self.ws.headers.get("host"))

    def on_push(self, frame: dict[str, Any]) -> None:
        # Another tab of the same visitor may have started a chat.
        if frame.get("type") == "chat.queued":
            self.conversation_id = frame.get("conversation_id", self.conversation_id)

    async def handle(self, command: Any) -> Result:
        router = self.services.router
        match command:
            case f.CustomerMessage():
                result = await self.services.chats.write(
                    self.visitor_id,
                    self.conversation_id,
                    self.display_name,
                    command.text,
                    command.client_msg_id or "",
                    self._site(),
                    choice_of(command),
                )
                return posted(command.ref, result)
            case f.StartChat():
                result = await self.services.chats.start(self.visitor_id, command, self._site(), self.identity)
                self.conversation_id = result["conversation_id"]
                self.display_name = result_name(command, self.identity)
                return result
            case f.CustomerTyping():
                cid = current_conversation(self.conversation_id)
                preview = command.preview if command.preview is not None and command.active else UNSET
                await self.relay(
                    cid,
                    f.Typing(
                        conversation_id=cid,
                        from_=CUSTOMER,
                        active=command.active,
                        preview=preview,
                    ),
                )
                return None
            case f.Read():
                cid = current_conversation(self.conversation_id)
                await self.relay(cid, f.ReadReceipt(conversation_id=cid, seq=command.seq, from_=CUSTOMER))
                return None
            case f.EndChat():
                ended = await router.end_chat(self.visitor_id)
                return {"conversation_id": ended["conversation_id"], "reason": ended["reason"]}
            case f.PageView():
                await self.services.visitors.page_view(self.visitor_id, command.url, command.title)
                return None
            case f.AcceptInvite():
                language = command.language or self.language or "en"
                result = await self.services.chats.accept_invite(
                    self.visitor_id, command.invite_id, language, self._site(), self.identity
                )
                self.conversation_id = result["conversation_id"]
                self.display_name = (self.identity.name if self.identity else None) or ""
                return result
            case f.DismissInvite():
                return await router.dismiss_invite(self.visitor_id, command.invite_id)
            case f.RequestTranscript():
                cid = current_conversation(self.conversation_id)
                return await self.services.transcripts.send(cid, command.email, self._sender_host())
            case f.RequestAgent():
                return await self.services.chats.request_agent(current_conversation(self.conversation_id))
            case f.Csat():
                return await router.csat(self.visitor_id, command.rating, command.comment or "")
            case f.CustomerHello():
                raise SwitchboardError(ErrorCode.CONFLICT, "hello was already received")
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "unknown frame type")


def result_name(command: f.StartChat, identity: IdentityClaims | None) -> str:
    """The name the customer's messages go out under: the signed identity's, else the one it gave."""
    return (identity.name if identity else None) or (command.customer.name if command.customer else None) or ""


def choice_of(command: f.CustomerMessage) -> Choice | None:
    if (command.choice is None) != (command.reply_to is None):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "choice and reply_to come together")
    return Choice(command.choice, command.reply_to) if command.choice is not None and command.reply_to else None


async def widget_queue(directory: Directory, qid: str, config: QueueConfig) -> f.WidgetQueue:
    """What the widget needs of its queue: the pre-chat form, and whether a chat reaches
    someone now (else the widget offers to leave a message, or says the queue is away)."""
    now = now_ms()
    hours = config.business_hours
    is_open_now = open_now(hours, now)
    queue = f.WidgetQueue(id=qid, prechat_fields=config.prechat_fields, offline=config.offline)
    if config.bot is not None:
        queue.bot_name = config.bot.display_name
    queue.available = is_open_now and await directory.queue_staffed(qid)
    if not is_open_now and hours is not None and (opens := next_opening(hours, now)) is not None:
        queue.opens_at = opens
    return queue
