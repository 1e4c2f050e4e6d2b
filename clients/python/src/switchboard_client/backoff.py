"""How long to wait before each attempt to reconnect: exponential, capped, with full jitter so that
the clients of a node that went away do not all come back in the same instant."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    first_s: float = 0.1  # the cap of the first pause
    most_s: float = 10.0  # no pause is longer
    factor: float = 2.0
    attempts: int | None = None  # give up after this many failed attempts in a row; None: never

    def pauses(self) -> Iterator[float]:
        """The pause before each attempt: uniform between 0 and a cap that grows by `factor` up to `most_s`."""
        cap = self.first_s
        attempt = 0
        while self.attempts is None or attempt < self.attempts:
            yield random.uniform(0, cap)
            cap = min(self.most_s, cap * self.factor)
            attempt += 1


#: What a client reconnects with unless told otherwise.
DEFAULT_BACKOFF = Backoff()
