"""A supervisor stepping in, on its agent socket: `whisper`, `barge_in`, `force_state` and
`reassign` (docs/protocol.md, "Supervisors who step in").

Only a supervisor may, and only on the conversations and agents of its queues: the
store checks the conversations (its Lua has the session's queue at hand), this module
the agents (as `POST /api/v1/agents/{id}/state` does). Each action is in the audit
trail; a whisper's text is not (it is in the conversation's history), only that it
happened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..domain import frames as f
from ..domain.accounts import supervises
from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.states import AgentState, Role
from .socket import Result, posted

if TYPE_CHECKING:
    from ..settings import Settings
    from .services import Services

StepInCommand = f.Whisper | f.BargeIn | f.ForceState | f.Reassign


class SupervisorSocket(Protocol):
    """What stepping in needs of the supervisor's agent socket (gateway/agent.py)."""

    services: Services
    settings: Settings
    agent_id: str
    display_name: str

    def audit(self, action: str, target: str, after: dict[str, Any] | None = None) -> None: ...


async def step_in(sock: SupervisorSocket, command: StepInCommand) -> Result:
    services = sock.services
    router = services.router
    aid = sock.agent_id
    profile = await services.directory.agent_profile(aid) or {}
    if profile.get("role") != Role.SUPERVISOR:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only supervisors can step in")
    match command:
        case f.Whisper():
            text = f.check_text(command.text, sock.settings.note_text_limit)
            whispered = await router.post_message(
                command.conversation_id, "supervisor", aid, sock.display_name, text, kind="note"
            )
            sock.audit("conversation.whisper", command.conversation_id)
            return posted(command.ref, whispered)
        case f.BargeIn():
            barged = await router.barge_in(aid, command.conversation_id)
            sock.audit("conversation.barge_in", command.conversation_id)
            return barged
        case f.Reassign():
            if (command.queue is None) == (command.agent is None):
                raise SwitchboardError(ErrorCode.BAD_REQUEST, "reassign needs either queue or agent")
            moved = await router.reassign(aid, command.conversation_id, queue=command.queue, agent=command.agent)
            target = {"queue": command.queue} if command.queue is not None else {"agent": command.agent}
            sock.audit("conversation.reassign", command.conversation_id, target)
            return moved
        case f.ForceState():
            return await _force_state(sock, profile, command)


async def _force_state(sock: SupervisorSocket, profile: dict[str, object], command: f.ForceState) -> Result:
    """What the HTTP routes of agent_control.py do: `not_ready` is its force_state, `offline` its sign-out."""
    services = sock.services
    agent = await services.directory.agent_profile(command.agent)
    if agent is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such agent")
    if not supervises(profile, agent):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only the supervisors of its queues act on this agent")
    if command.state == "offline":
        result = await services.router.set_state(command.agent, AgentState.OFFLINE.value, "signed out")
        await services.accounts.end_sessions(command.agent)
        await services.router.revoke_tokens(command.agent)
    else:
        reason = command.reason or f"set by {sock.agent_id}"
        result = await services.router.set_state(command.agent, AgentState.NOT_READY.value, reason)
    sock.audit("agent.force_state", command.agent, {"state": command.state, "reason": result.get("reason", "")})
    return result
