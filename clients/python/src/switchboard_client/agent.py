"""The agent's side: an agent (or supervisor) on `/ws/agent`, as the desk is; also what bots use."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Unpack

from .commands import (
    ConferenceOffered,
    ContactVerified,
    Ended,
    HelpAsked,
    InSession,
    Monitoring,
    Nothing,
    Sent,
    StateSet,
    Transferred,
    WrappedUp,
    command,
)
from .connection import Connection, Options
from .events import (
    AGENT_EVENTS,
    AgentWelcome,
    ConversationAssigned,
    ConversationClosed,
    Event,
    Offer,
    OfferRevoked,
)


class AgentClient(Connection):
    """An agent, with the token from `POST /api/v1/agents/{id}/token`. After a drop the client resumes
    every conversation it holds; offers that came while it was away arrive as `Offer` events, once."""

    path: ClassVar[str] = "/ws/agent"
    known_events: ClassVar[dict[str, type[Event]]] = AGENT_EVENTS

    def __init__(
        self,
        url: str,
        token: str,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(url, **options)
        self._token = token
        self.welcome: AgentWelcome | None = None
        self._offers: set[str] = set()  # pending offers already delivered

    def _hello(self) -> dict[str, Any]:
        return command("hello", token=self._token, resume=self._delivered.resume_points() or None)

    def _welcomed(self, welcome: Event, again: bool) -> list[Event]:
        assert isinstance(welcome, AgentWelcome)
        self.welcome = welcome
        held = {card.conversation_id for card in welcome.conversations} | set(welcome.monitoring)
        for conversation_id in self._delivered.tracked():
            if conversation_id not in held:
                self._delivered.forget(conversation_id)
        for conversation_id in held:
            self._delivered.join(conversation_id)
        new_offers = [offer for offer in welcome.offers if offer.offer_id not in self._offers]
        self._offers = {offer.offer_id for offer in welcome.offers}
        return [welcome, *new_offers] if again else list(new_offers)

    def _admit(self, event: Event) -> bool:
        if isinstance(event, Offer):
            if event.offer_id in self._offers:
                return False
            self._offers.add(event.offer_id)
        elif isinstance(event, OfferRevoked):
            self._offers.discard(event.offer_id)
        elif isinstance(event, ConversationAssigned):
            self._took(event.conversation_id, event.messages)
        elif isinstance(event, ConversationClosed):
            self._delivered.forget(event.conversation_id)
        return super()._admit(event)

    def _took(self, conversation_id: str, messages: list[dict[str, Any]]) -> None:
        """The conversation's history so far came with it: a resume starts after it."""
        self._delivered.start(conversation_id, [m["seq"] for m in messages if isinstance(m.get("seq"), int)])

    # ------------------------------------------------------------ commands

    async def set_state(self, state: str, reason: str | None = None) -> StateSet:
        """`available`, `not_ready` or `offline`; only `available` agents get offers."""
        return await self.request(command("set_state", state=state, reason=reason), StateSet, retry=True)

    async def accept(self, offer_id: str) -> InSession:
        """Takes an offer; `conversation.assigned` follows."""
        answer = await self.request(command("accept", offer_id=offer_id), InSession)
        self._offers.discard(offer_id)
        return answer

    async def decline(self, offer_id: str) -> InSession:
        answer = await self.request(command("decline", offer_id=offer_id), InSession)
        self._offers.discard(offer_id)
        return answer

    async def send_message(self, conversation_id: str, text: str, *, client_msg_id: str | None = None) -> Sent:
        """Sends a message. It carries a `client_msg_id`, so it is sent again after a reconnect and stored once."""
        msg_id = client_msg_id or uuid.uuid4().hex
        frame = command("message", conversation_id=conversation_id, text=text, client_msg_id=msg_id)
        return await self.request(frame, Sent, retry=True)

    async def note(self, conversation_id: str, text: str) -> Sent:
        """An internal note, seen by agents and supervisors only."""
        return await self.request(command("note", conversation_id=conversation_id, text=text), Sent)

    async def typing(self, conversation_id: str, active: bool = True, preview: str | None = None) -> None:
        frame = command("typing", conversation_id=conversation_id, active=active, preview=preview)
        await self.request(frame, Nothing, retry=True)

    async def transfer(
        self, conversation_id: str, *, queue: str | None = None, agent: str | None = None
    ) -> Transferred:
        """To a queue (the agent leaves at once) or to an agent (an offer; the chat stays until it accepts)."""
        frame = command("transfer", conversation_id=conversation_id, queue=queue, agent=agent)
        return await self.request(frame, Transferred)

    async def conference(self, conversation_id: str, agent: str) -> ConferenceOffered:
        frame = command("conference", conversation_id=conversation_id, agent=agent)
        return await self.request(frame, ConferenceOffered)

    async def leave(self, conversation_id: str) -> InSession:
        return await self.request(command("leave", conversation_id=conversation_id), InSession)

    async def end_conference(self, conversation_id: str) -> InSession:
        return await self.request(command("end_conference", conversation_id=conversation_id), InSession)

    async def end_session(self, conversation_id: str) -> Ended:
        return await self.request(command("end_session", conversation_id=conversation_id), Ended)

    async def wrap_up(self, conversation_id: str, code: str, notes: str | None = None) -> WrappedUp:
        frame = command("wrap_up", conversation_id=conversation_id, code=code, notes=notes)
        return await self.request(frame, WrappedUp)

    async def request_help(self, conversation_id: str, text: str | None = None) -> HelpAsked:
        frame = command("request_help", conversation_id=conversation_id, text=text)
        return await self.request(frame, HelpAsked)

    async def verify_contact(
        self, conversation_id: str, email: str | None = None, phone: str | None = None
    ) -> ContactVerified:
        frame = command("verify_contact", conversation_id=conversation_id, email=email, phone=phone)
        return await self.request(frame, ContactVerified)

    async def monitor(self, conversation_id: str) -> Monitoring:
        """Supervisors: the conversation's events without joining it; the ack has its history so far."""
        answer = await self.request(command("monitor", conversation_id=conversation_id), Monitoring)
        self._took(conversation_id, answer.messages)
        return answer

    async def unmonitor(self, conversation_id: str) -> Monitoring:
        answer = await self.request(command("unmonitor", conversation_id=conversation_id), Monitoring)
        self._delivered.forget(conversation_id)
        return answer
