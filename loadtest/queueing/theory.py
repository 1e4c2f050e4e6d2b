"""The textbook figures of an M/M/c queue: Erlang C for one class, Cobham's formula for
non-preemptive priority classes that share the agents and the handle-time distribution.

`arrival_rate` λ is chats per second, `service_rate` μ chats per second per agent (one
over the mean handle time), `servers` c the agents, each serving one chat at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def erlang_c(servers: int, offered_load: float) -> float:
    """The probability that a chat has to wait, for `offered_load` a = λ/μ Erlangs on
    `servers` agents (a < servers). From Erlang B's recurrence, which stays exact where
    the factorials of the closed form would overflow."""
    if servers < 1:
        raise ValueError("an M/M/c queue needs at least one agent")
    if not 0 <= offered_load < servers:
        raise ValueError(f"an offered load of {offered_load:g} Erlangs never settles on {servers} agents")
    blocking = 1.0  # Erlang B with no agent
    for n in range(1, servers + 1):
        blocking = offered_load * blocking / (n + offered_load * blocking)
    utilisation = offered_load / servers
    return blocking / (1 - utilisation * (1 - blocking))


def average_speed_of_answer(servers: int, arrival_rate: float, service_rate: float) -> float:
    """Erlang C's mean wait in the queue, in seconds, over every chat (those answered at once count 0)."""
    return erlang_c(servers, arrival_rate / service_rate) / (servers * service_rate - arrival_rate)


def answered_within(servers: int, arrival_rate: float, service_rate: float, threshold_s: float) -> float:
    """The share of chats that wait at most `threshold_s` (the service level)."""
    waiting = erlang_c(servers, arrival_rate / service_rate)
    return 1 - waiting * math.exp(-(servers * service_rate - arrival_rate) * threshold_s)


def priority_waits(servers: int, arrival_rates: Sequence[float], service_rate: float) -> list[float]:
    """Cobham's mean wait of each class, in seconds, highest priority first: non-preemptive
    priority, every class with the same exponential handle time. A class waits
    C / (cμ (1 - σ_(k-1)) (1 - σ_k)), σ_k the utilisation of the classes up to k."""
    total = sum(arrival_rates)
    waiting = erlang_c(servers, total / service_rate)
    capacity = servers * service_rate
    waits, above = [], 0.0
    for rate in arrival_rates:
        upto = above + rate / capacity
        waits.append(waiting / (capacity * (1 - above) * (1 - upto)))
        above = upto
    return waits
