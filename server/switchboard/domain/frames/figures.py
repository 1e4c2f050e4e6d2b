"""The supervisor feed's figures: a queue's and an agent's, as `stats` frames and
`GET /api/v1/stats` carry them."""

from __future__ import annotations

from msgspec import UNSET, UnsetType

from .base import Part


class QueueFigures(Part):
    id: str
    name: str
    waiting: int
    longest_wait_ms: int
    agents: dict[str, int]  # how many of the queue's agents are in each state
    offered: int
    answered: int
    abandoned: int
    abandonment_rate: float | None
    average_speed_of_answer_ms: float | None
    service_level: float | None
    service_level_s: float  # as the queue configures it (whole seconds or not)
    occupancy: float | None
    #: the queue's agents that are not_ready now, by reason ("" for none)
    not_ready_reasons: dict[str, int] = {}
    # The reports' figures over the window, by their one definition (docs/reports.md)
    short_abandon_s: float = 0
    short_abandoned: int = 0
    answered_in_sl: int = 0
    asa_s: float | None = None
    avg_wait_s: float | None = None
    max_wait_s: float | None = None
    handled: int = 0
    aht_s: float | None = None
    talk_s: float | None = None
    wrap_s: float | None = None
    transfers_in: int = 0
    transfers_out: int = 0
    conferences: int = 0
    ronas: int = 0
    declines: int = 0
    bot_contained: int = 0
    handed_off: int = 0
    csat_responses: int = 0
    csat_avg: float | None = None
    csat_1: int = 0
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0
    channels: dict[str, int] = {}


class AgentFigures(Part):
    id: str
    display_name: str
    state: str
    since: int
    sessions: int
    queues: list[str]
    capacity: int
    reason: str | UnsetType = UNSET  # of its state, when it has one (a not-ready reason)
