"""One seeded scenario that the real run and the ideal queue share: when each chat arrives
(Poisson, rate λ), how long its agent handles it (exponential, mean 1/μ) and its class."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: The class names: `high` and `low` for a priority run, `all` for one class.
HIGH, LOW, ALL = "high", "low", "all"


@dataclass(frozen=True)
class Chat:
    arrival_s: float  # from the start of the run
    handle_s: float  # from the moment an agent has it until its slot is free again
    cls: str


@dataclass(frozen=True)
class Scenario:
    name: str
    servers: int
    arrival_rate: float  # λ, chats per second
    mean_handle_s: float  # 1/μ
    duration_s: float  # arrivals fall within [0, duration_s)
    high_share: float | None  # the probability of class `high`; None: one class
    chats: tuple[Chat, ...]

    @property
    def service_rate(self) -> float:
        return 1 / self.mean_handle_s

    @property
    def utilisation(self) -> float:
        return self.arrival_rate * self.mean_handle_s / self.servers

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes, most urgent first: a chat's rank is its class's index here."""
        return (ALL,) if self.high_share is None else (HIGH, LOW)

    def class_rates(self) -> list[float]:
        """λ of each class, most urgent first."""
        if self.high_share is None:
            return [self.arrival_rate]
        return [self.arrival_rate * self.high_share, self.arrival_rate * (1 - self.high_share)]

    def ranks(self) -> list[int]:
        return [self.classes.index(chat.cls) for chat in self.chats]


def generate(
    name: str,
    *,
    seed: int,
    servers: int,
    utilisation: float,
    mean_handle_s: float,
    duration_s: float,
    high_share: float | None = None,
) -> Scenario:
    """An M/M/c scenario at `utilisation` ρ (λ = ρ c μ). With `high_share`, each chat is of
    class `high` with that probability, else `low`; without, all are of one class."""
    if not 0 < utilisation < 1:
        raise ValueError("the utilisation must be between 0 and 1, or the queue never settles")
    rng = random.Random(seed)
    arrival_rate = utilisation * servers / mean_handle_s
    chats: list[Chat] = []
    at = rng.expovariate(arrival_rate)
    while at < duration_s:
        cls = ALL if high_share is None else (HIGH if rng.random() < high_share else LOW)
        chats.append(Chat(at, rng.expovariate(1 / mean_handle_s), cls))
        at += rng.expovariate(arrival_rate)
    return Scenario(name, servers, arrival_rate, mean_handle_s, duration_s, high_share, tuple(chats))
