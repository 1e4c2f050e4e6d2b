"""Rules of the agent's desk commands that need no store: which states an agent may set, what a transfer names."""

from __future__ import annotations

from .errors import ErrorCode, SwitchboardError
from .states import SETTABLE_AGENT_STATES, AgentState


def settable_state(value: str) -> AgentState:
    """The state an agent asked for; `rona` and unknown states are refused (the server sets `rona`)."""
    try:
        state = AgentState(value)
    except ValueError:
        state = None
    if state not in SETTABLE_AGENT_STATES:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "state must be available, not_ready or offline")
    return state


def check_transfer_target(queue: str | None, agent: str | None) -> None:
    """A transfer goes to a queue or to an agent, never both, never neither."""
    if (queue is None) == (agent is None):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "transfer needs either queue or agent")


def wrap_up_codes(code: str | None, codes: list[str] | None) -> list[str]:
    """The codes a `wrap_up` gives: `code` first, then `codes`, each once; at least one."""
    given = list(dict.fromkeys([*([code] if code is not None else []), *(codes or [])]))
    if not given:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "wrap_up needs a code (code or codes)")
    return given


def next_state_after_wrap_up(next_state: str | None, reason: str | None) -> tuple[str, str]:
    """The state and reason a `wrap_up` asks for afterwards ("" and "": the agent keeps its state)."""
    if reason and next_state != AgentState.NOT_READY:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "a reason goes with next_state not_ready")
    return next_state or "", reason or ""
