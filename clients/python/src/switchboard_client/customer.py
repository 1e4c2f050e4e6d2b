"""The customer's side: a visitor on `/ws/customer`, as the widget is."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar, Unpack

from .commands import ChatStarted, Ended, Nothing, Rated, Sent, command
from .connection import Connection, Options
from .events import CUSTOMER_EVENTS, CustomerWelcome, Event


class CustomerClient(Connection):
    """A visitor. Without `visitor_token` the server makes a new visitor; keep `visitor_token` (a bearer
    secret) to come back as the same one. After a drop the client resumes its current conversation."""

    path: ClassVar[str] = "/ws/customer"
    known_events: ClassVar[dict[str, type[Event]]] = CUSTOMER_EVENTS

    def __init__(
        self,
        url: str,
        *,
        visitor_token: str | None = None,
        page: Mapping[str, str] | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(url, **options)
        self.visitor_token = visitor_token
        self.visitor_id: str | None = None
        self.conversation_id: str | None = None  # the visitor's current conversation, resumed after a drop
        self.welcome: CustomerWelcome | None = None
        self._page = dict(page) if page else None

    def _hello(self) -> dict[str, Any]:
        resume = None
        if self.conversation_id is not None:
            last_seq = self._delivered.resume_point(self.conversation_id)
            resume = {"conversation_id": self.conversation_id, "last_seq": last_seq}
        page, self._page = self._page, None  # the page is visited once, not again on each reconnect
        return command("hello", visitor_token=self.visitor_token, resume=resume, page=page)

    def _welcomed(self, welcome: Event, again: bool) -> list[Event]:
        assert isinstance(welcome, CustomerWelcome)
        self.welcome = welcome
        self.visitor_token = welcome.visitor_token
        self.visitor_id = welcome.visitor_id
        if welcome.conversation is not None:
            self._follow(welcome.conversation.conversation_id)
        if welcome.recovered is False and self.conversation_id is not None:
            # The server's history is older than what was delivered: all of it follows, to be delivered.
            self._delivered.forget(self.conversation_id)
            self._delivered.start(self.conversation_id)
        return [welcome] if again else []

    def _admit(self, event: Event) -> bool:
        conversation_id = getattr(event, "conversation_id", None)
        if isinstance(conversation_id, str):
            self._follow(conversation_id)
        return super()._admit(event)

    def _follow(self, conversation_id: str, started_here: bool = False) -> None:
        """The visitor's current conversation, which a reconnect resumes."""
        self.conversation_id = conversation_id
        if started_here:
            self._delivered.start(conversation_id)
        else:
            self._delivered.join(conversation_id)

    # ------------------------------------------------------------ commands

    async def start_chat(
        self,
        queue: str,
        text: str | None = None,
        *,
        language: str | None = None,
        skills: list[str] | None = None,
        channel: str | None = None,
        customer: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> ChatStarted:
        """Opens a conversation, queued; the ack has `conversation_id`, `session_id` (and with `text`,
        the first message's `message_id`, `seq`)."""
        answer = await self.request(
            command(
                "start_chat",
                queue=queue,
                text=text,
                language=language,
                skills=skills,
                channel=channel,
                customer=dict(customer) if customer else None,
                attributes=dict(attributes) if attributes else None,
            ),
            ChatStarted,
        )
        self._follow(answer.conversation_id, started_here=True)
        return answer

    async def send_message(self, text: str, *, client_msg_id: str | None = None) -> Sent:
        """Sends a message (`message_id`, `seq` in the ack). It carries a `client_msg_id`, so it is sent
        again after a reconnect and stored once."""
        msg_id = client_msg_id or uuid.uuid4().hex
        return await self.request(command("message", text=text, client_msg_id=msg_id), Sent, retry=True)

    async def typing(self, active: bool = True, preview: str | None = None) -> None:
        await self.request(command("typing", active=active, preview=preview), Nothing, retry=True)

    async def read(self, seq: int) -> None:
        await self.request(command("read", seq=seq), Nothing, retry=True)

    async def page_view(self, url: str, title: str | None = None) -> None:
        await self.request(command("page_view", url=url, title=title), Nothing)

    async def end_chat(self) -> Ended:
        return await self.request(command("end_chat"), Ended)

    async def accept_invite(self, invite_id: str) -> ChatStarted:
        answer = await self.request(command("accept_invite", invite_id=invite_id), ChatStarted)
        self._follow(answer.conversation_id, started_here=True)
        return answer

    async def dismiss_invite(self, invite_id: str) -> None:
        await self.request(command("dismiss_invite", invite_id=invite_id), Nothing)

    async def csat(self, rating: int, comment: str | None = None) -> Rated:
        return await self.request(command("csat", rating=rating, comment=comment), Rated)
