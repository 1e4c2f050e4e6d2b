"""The stateful property test's own model of the routing rules (tests/store/test_router_properties.py):
what the test believes about agents, queues and sessions, the strategies that draw them, and the
snapshot of Redis the invariants read. Written from the contract's words, not imported from the server."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import msgspec
from hypothesis import strategies as st

from switchboard.domain.config import QueueConfig

PREFIX = "prop"
R = "{" + PREFIX + "}"
LANGS = ["en", "de", "fr"]
SKILLS = ["billing", "tech", "vip"]
QUEUE_IDS = ["sales", "support"]
VISITORS = [f"v{i}" for i in range(1, 6)]
START = 1_700_000_000_000
PRIORITY_SCALE = 10**13  # without aging the contract orders by priority first; the server's score encoding
GRACE_MS = 15_000
INACTIVITY_MS = 60_000
ENDED_STATUSES = {"wrap_up", "closed"}

EXAMPLES = int(os.environ.get("SWITCHBOARD_PROPERTY_EXAMPLES", "60"))
STEPS = int(os.environ.get("SWITCHBOARD_PROPERTY_STEPS", "40"))


# ---------------------------------------------------------------- the test's own model


@dataclass
class AgentModel:
    languages: list[str]
    skills: list[str]
    queues: list[str]
    capacity: int
    proficiency: dict[str, int] = field(default_factory=dict)
    conns: set[str] = field(default_factory=set)

    def level(self, skill: str) -> int:
        """protocol.md: a skill's level is 3 when the agent's `proficiency` does not name it."""
        return self.proficiency.get(skill, 3)


@dataclass
class QueueModel:
    config: QueueConfig


@dataclass
class SessionModel:
    sid: str
    cid: str
    vid: str
    queue: str
    language: str
    skills: list[str]
    queued_at: int
    score: float
    entered_at: int = 0  # when it entered its current queue (routing steps count from here)
    priority: int = 0  # the queue's priority plus the chat's own
    chat_priority: int = 0
    overflow_at: int | None = None  # from then on the agents of its queue's overflow_to may take it

    def __post_init__(self) -> None:
        self.entered_at = self.entered_at or self.queued_at


def entry_score(config: QueueConfig, priority: int, entered_at: int) -> float:
    """The server's score encoding (docs/protocol.md, Routing as implemented)."""
    aging = config.priority_aging_per_min
    return entered_at - priority * (60_000 / aging if aging > 0 else PRIORITY_SCALE)


def effective_priority(config: QueueConfig, priority: int, entered_at: int, now: int) -> Fraction:
    """protocol.md: a waiting chat gains `priority_aging_per_min` of priority per minute it waits."""
    return priority + Fraction(config.priority_aging_per_min) * (now - entered_at) / 60_000


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def words_of(value: str | None) -> list[str]:
    return (value or "").split()


@dataclass
class Snapshot:
    """Everything the invariants need, read straight from Redis."""

    agents: dict[str, dict[str, str]]
    slots: dict[str, set[str]]
    agent_offers: dict[str, set[str]]
    conns: dict[str, set[str]]
    sessions: dict[str, dict[str, str]]
    declined: dict[str, set[str]]
    waiting: dict[str, list[tuple[str, float]]]
    overflow: dict[str, set[str]]  # queue -> sessions of other queues that overflowed to it
    offers: dict[str, dict[str, str]]

    def pending_offers(self) -> list[tuple[str, str]]:
        return sorted((aid, oid) for aid, oids in self.agent_offers.items() for oid in oids)


# ---------------------------------------------------------------- strategies

# Biased so that agents and chats often match (routing happens), but not always.
languages_st = st.sampled_from([["en"], ["en", "de"], ["en", "de", "fr"], ["de"], ["en", "fr"]])
skills_st = st.sampled_from([[], ["billing"], ["tech"], ["billing", "tech"], ["billing", "tech", "vip"]])


@st.composite
def queue_configs(draw: st.DrawFn) -> dict[str, QueueConfig]:
    # The two queues differ: "sales" needs no skill and is manual, "support" needs one
    # skill, has its own wrap-up codes and may assign automatically.
    sales = {
        "name": "Sales",
        "languages": draw(st.one_of(st.just([]), languages_st)),
        "accept_mode": "manual",
        "offer_timeout_s": draw(st.sampled_from([5, 10])),
        "wrap_up_timeout_s": draw(st.sampled_from([30, 60])),
        "priority": draw(st.sampled_from([0, 1])),
        "max_wait_s": draw(st.sampled_from([None, None, 45, 8])),
        "max_chat_priority": draw(st.sampled_from([0, 3])),
        # a point of priority is worth 60 s (1 per minute) or 10 s (6 per minute) of waiting
        "priority_aging_per_min": draw(st.sampled_from([0, 0, 1, 6])),
        "overflow_to": draw(st.sampled_from([[], ["support"], ["support"]])),
        "overflow_after_s": draw(st.sampled_from([None, 10, 25])),
        # a returning visitor's session goes first to its last agent (eligibility unchanged)
        "sticky_for_s": draw(st.sampled_from([None, 60])),
    }
    support = {
        "name": "Support",
        "languages": draw(st.one_of(st.just([]), languages_st)),
        "skills": [draw(st.sampled_from(["billing", "tech"]))],
        "accept_mode": draw(st.sampled_from(["manual", "auto"])),
        "offer_timeout_s": draw(st.sampled_from([5, 10])),
        "wrap_up_timeout_s": draw(st.sampled_from([30, 60])),
        "priority": draw(st.sampled_from([0, 1])),
        "wrap_up_codes": [{"code": "done", "label": "Done"}, {"code": "spam", "label": "Spam"}],
        # Routing steps widen the targeting as a session waits (an empty list requires nothing).
        "steps": draw(
            st.sampled_from(
                [
                    [],
                    [],
                    [{"after_s": 20, "skills": []}],
                    [{"after_s": 12, "languages": []}, {"after_s": 30, "skills": ["billing"], "languages": ["en"]}],
                    [{"after_s": 0, "languages": ["en", "de"]}],
                    [{"after_s": 15, "min_proficiency": {}}],
                ]
            )
        ),
        "min_proficiency": draw(st.sampled_from([{}, {}, {"billing": 3}, {"billing": 4, "tech": 2}])),
        "overflow_to": draw(st.sampled_from([[], ["sales"]])),
        "overflow_after_s": draw(st.sampled_from([None, 20])),
        "agent_selection": draw(st.sampled_from(["longest_idle", "best_skilled"])),
    }
    return {"sales": msgspec.convert(sales, QueueConfig), "support": msgspec.convert(support, QueueConfig)}


agent_st = st.fixed_dictionaries(
    {
        "languages": languages_st,
        "skills": skills_st,
        "queues": st.sampled_from([["sales"], ["support"], ["sales", "support"], ["sales", "support"]]),
        "capacity": st.integers(1, 2),
        "proficiency": st.sampled_from([{}, {}, {"billing": 1}, {"billing": 5, "tech": 4}, {"tech": 2, "vip": 5}]),
    }
)
