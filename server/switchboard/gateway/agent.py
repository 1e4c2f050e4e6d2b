"""The agent socket `/ws/agent`: agents and supervisors at their desk."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec

from ..domain import frames as f
from ..domain.cards import build_card
from ..domain.desk import check_transfer_target, next_state_after_wrap_up, settable_state, wrap_up_codes
from ..domain.errors import CloseCode, ErrorCode, SwitchboardError
from ..domain.states import Role
from ..store.clock import now_ms
from .attachment_urls import signed_afresh
from .codec import json_decode_any, json_encode
from .hub import Push
from .limits import client_address
from .socket import ClientSocket, HandshakeRefused, Result, posted
from .step_in import step_in


class AgentSocket(ClientSocket):
    command_type = f.AgentCommand
    hello_type = f.AgentHello
    role = "agent"

    kind = "a"
    agent_id: str = ""
    display_name: str = ""
    _expiry: asyncio.TimerHandle | None = None

    def push(self, push: Push) -> None:
        """An offer's `thread` and an assignment's `messages` are history, made by the store when the
        conversation moves: their files get URLs signed now (a chat transferred after hours still opens
        them). The push is shared by the node's sockets, so this socket's copy is a new one."""
        if b'"attachment":' in push.payload and push.frame.get("type") in ("offer", "conversation.assigned"):
            frame = json_decode_any(push.payload)
            signed_afresh(self.settings, frame.get("thread") or frame.get("messages") or [])
            push = Push(json_encode(frame))
        super().push(push)

    async def hello(self, hello: f.AgentHello) -> None:
        services = self.services
        claims = services.signer.agent_claims(hello.token, time.time())
        if claims is None:
            raise HandshakeRefused(CloseCode.UNAUTHORIZED, "invalid or expired token")
        agent_id, token_version = claims.agent_id, claims.version
        profile = await services.directory.agent_profile(agent_id)
        if profile is None:
            raise HandshakeRefused(CloseCode.UNAUTHORIZED, "unknown agent")
        self.agent_id = agent_id
        self.display_name = profile["display_name"]
        view = await self.join(agent_id, token_version)
        now = now_ms()
        cards = [build_card(v, now) for v in view["sessions"]]
        welcome = f.AgentWelcome(
            agent=msgspec.convert({"id": agent_id, **profile}, f.AgentProfile),
            state=msgspec.convert(view["state"], f.AgentStateView),
            conversations=msgspec.convert(cards, list[f.Card]),
            offers=msgspec.convert(view["offers"], list[f.Offer]),
        )
        if profile.get("role") == Role.SUPERVISOR:
            welcome.monitoring = sorted(view["monitoring"])
        self.send(welcome)
        # Its own conversations, and those a supervisor monitors, are replayed.
        held = {card["conversation_id"] for card in cards} | set(view["monitoring"])
        for cid, last_seq in (hello.resume or {}).items():
            if cid not in held:
                continue
            self.replayed(cid, last_seq)  # a push the client already has is not sent again
            missed = await services.router.history(cid, last_seq, audience="agents")
            for event in signed_afresh(services.settings, missed):
                self.replayed(cid, event["seq"])
                self.send(event)
        self.release_buffered()
        # A token is good until it expires, also on a socket opened with it.
        self._expiry = asyncio.get_running_loop().call_later(
            max(0.0, claims.expires_at - time.time()), self.close, CloseCode.UNAUTHORIZED, "token expired"
        )
        if profile.get("role") == Role.SUPERVISOR:  # the live feed (gateway/supervision.py)
            services.supervision.add(self, profile.get("queues") or [])

    async def goodbye(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self.services.supervision.remove(self)
        await super().goodbye()

    def audit(self, action: str, target: str, after: dict[str, Any] | None = None) -> None:
        """A supervisor's monitoring and stepping in are in the audit trail; the socket does not wait for it
        (record/audit.py)."""
        self.services.audit_backlog.note(f"agent:{self.agent_id}", action, target, client_address(self.ws.scope), after)

    async def handle(self, command: Any) -> Result:
        router = self.services.router
        aid = self.agent_id
        match command:
            case f.AgentMessage():
                text, extras = f.message_content(command.text, command.rich, self.settings.agent_text_limit)
                result = await router.post_message(
                    command.conversation_id,
                    "agent",
                    aid,
                    self.display_name,
                    text,
                    command.client_msg_id or "",
                    extras=extras,
                )
                return posted(command.ref, result)
            case f.Note():
                text = f.check_text(command.text, self.settings.note_text_limit)
                result = await router.post_message(
                    command.conversation_id, "agent", aid, self.display_name, text, kind="note"
                )
                return posted(command.ref, result)
            case f.AgentTyping():
                sender = f.Sender(role="agent", id=aid, display_name=self.display_name)
                await self.relay(
                    command.conversation_id,
                    f.Typing(
                        conversation_id=command.conversation_id,
                        from_=sender,
                        active=command.active,
                    ),
                )
                return None
            case f.SetState():
                state = settable_state(command.state)
                return await router.set_state(aid, state.value, command.reason or "")
            case f.Accept():
                return await router.accept(aid, command.offer_id)
            case f.Decline():
                return await router.decline(aid, command.offer_id)
            case f.EndSession():
                return await router.end_session(aid, command.conversation_id)
            case f.WrapUp():
                codes = wrap_up_codes(command.code, command.codes)
                next_state, reason = next_state_after_wrap_up(command.next_state, command.reason)
                return await router.wrap_up(
                    aid, command.conversation_id, codes, command.notes or "", next_state=next_state, reason=reason
                )
            case f.Transfer():
                check_transfer_target(command.queue, command.agent)
                return await router.transfer(aid, command.conversation_id, queue=command.queue, agent=command.agent)
            case f.Conference():
                return await router.conference(aid, command.conversation_id, command.agent)
            case f.Leave():
                return await router.leave(aid, command.conversation_id)
            case f.EndConference():
                return await router.end_conference(aid, command.conversation_id)
            case f.RequestHelp():
                return await router.request_help(aid, command.conversation_id, command.text or "")
            case f.VerifyContact():
                return await router.verify_contact(
                    aid, command.conversation_id, command.email or "", command.phone or ""
                )
            case f.Monitor():
                monitored = await router.monitor(aid, command.conversation_id)
                signed_afresh(self.settings, monitored["messages"])
                self.audit("conversation.monitor", command.conversation_id)
                return monitored
            case f.Unmonitor():
                unmonitored = await router.unmonitor(aid, command.conversation_id)
                self.audit("conversation.unmonitor", command.conversation_id)
                return unmonitored
            case f.Whisper() | f.BargeIn() | f.ForceState() | f.Reassign():
                return await step_in(self, command)
            case f.AgentHello():
                raise SwitchboardError(ErrorCode.CONFLICT, "hello was already received")
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "unknown frame type")
