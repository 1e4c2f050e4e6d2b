"""The agent socket `/ws/agent`: agents and supervisors at their desk."""

from __future__ import annotations

import time
from typing import Any

from ..domain import frames as f
from ..domain.cards import build_card
from ..domain.errors import CloseCode, ErrorCode, SwitchboardError
from ..domain.states import SETTABLE_AGENT_STATES, AgentState
from .socket import ClientSocket, HandshakeRefused

NOT_YET = {
    f.Transfer: "transfer",
    f.Conference: "conference",
    f.Leave: "leave",
    f.EndConference: "end_conference",
    f.RequestHelp: "request_help",
    f.VerifyContact: "verify_contact",
    f.Monitor: "monitor",
    f.Unmonitor: "unmonitor",
}


class AgentSocket(ClientSocket):
    command_type = f.AgentCommand
    hello_type = f.AgentHello
    role = "agent"

    kind = "a"
    agent_id: str = ""
    display_name: str = ""

    async def hello(self, hello: f.AgentHello) -> None:
        services = self.services
        verified = services.signer.verify_agent(hello.token, time.time())
        if verified is None:
            raise HandshakeRefused(CloseCode.UNAUTHORIZED, "invalid or expired token")
        agent_id, token_version = verified
        profile = await services.directory.agent_profile(agent_id)
        if profile is None:
            raise HandshakeRefused(CloseCode.UNAUTHORIZED, "unknown agent")
        self.agent_id = agent_id
        self.display_name = profile["display_name"]
        view = await self.join(agent_id, token_version)
        now = time.time_ns() // 1_000_000
        cards = [build_card(v, now) for v in view["sessions"]]
        self.send({
            "type": "welcome", "agent": {"id": agent_id, **profile}, "state": view["state"],
            "conversations": cards, "offers": view["offers"],
        })
        held = {card["conversation_id"] for card in cards}
        for cid, last_seq in (hello.resume or {}).items():
            if cid not in held:
                continue  # only the agent's own conversations are replayed
            for event in await services.router.history(cid, last_seq, audience="agents"):
                self.replayed(cid, event["seq"])
                self.send(event)
        self.release_buffered()

    async def handle(self, command: Any) -> dict[str, Any] | None:
        router = self.services.router
        aid = self.agent_id
        match command:
            case f.AgentMessage():
                text = f.check_text(command.text, f.AGENT_TEXT_LIMIT)
                result = await router.post_message(
                    command.conversation_id, "agent", aid, self.display_name, text, command.client_msg_id or ""
                )
                # For search, after the store accepted it (see gateway/indexing.py); notes are not.
                await self.services.indexer.message(command.conversation_id, text)
                return {"message_id": result["message_id"], "seq": result["seq"]}
            case f.Note():
                text = f.check_text(command.text, f.CUSTOMER_TEXT_LIMIT)
                result = await router.post_message(command.conversation_id, "agent", aid, self.display_name, text, kind="note")
                return {"message_id": result["message_id"], "seq": result["seq"]}
            case f.AgentTyping():
                await router.relay(command.conversation_id, "agent", aid, {
                    "type": "typing", "conversation_id": command.conversation_id,
                    "from": {"role": "agent", "id": aid, "display_name": self.display_name},
                    "active": command.active,
                })
                return None
            case f.SetState():
                try:
                    state = AgentState(command.state)
                except ValueError:
                    state = None
                if state not in SETTABLE_AGENT_STATES:
                    raise SwitchboardError(ErrorCode.BAD_REQUEST, "state must be available, not_ready or offline")
                return await router.set_state(aid, state.value, command.reason or "")
            case f.Accept():
                return await router.accept(aid, command.offer_id)
            case f.Decline():
                return await router.decline(aid, command.offer_id)
            case f.EndSession():
                return await router.end_session(aid, command.conversation_id)
            case f.WrapUp():
                return await router.wrap_up(aid, command.conversation_id, command.code, command.notes or "")
            case f.AgentHello():
                raise SwitchboardError(ErrorCode.CONFLICT, "hello was already received")
        name = NOT_YET.get(type(command))
        if name is not None:
            raise SwitchboardError(ErrorCode.BAD_REQUEST, f"{name} is not supported by this server yet")
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "unknown frame type")

