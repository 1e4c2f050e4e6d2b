"""The ideal queue, simulated exactly: chats fed at given arrival times with given handle
times to `servers` agents of one chat each, work-conserving (an agent never idles while a
chat waits), first come first served within a priority class and non-preemptive across
classes. Fed the arrival and handle times a real run drew, it says what each chat's wait
would have been with a router that takes no time at all."""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence


def simulate(
    arrivals: Sequence[float], handles: Sequence[float], servers: int, ranks: Sequence[int] | None = None
) -> list[float]:
    """Each chat's wait (seconds), in the order given. `arrivals` must not decrease; `ranks`
    are the chats' priority classes, lower served first (None: one class, plain FCFS)."""
    if len(handles) != len(arrivals) or (ranks is not None and len(ranks) != len(arrivals)):
        raise ValueError("one handle time and one class per arrival")
    if any(later < earlier for earlier, later in itertools.pairwise(arrivals)):
        raise ValueError("arrival times must not decrease")
    if servers < 1:
        raise ValueError("the queue needs at least one agent")
    free_at = [0.0] * servers  # a heap: when each agent is next free
    waiting: list[tuple[int, float, int]] = []  # a heap: (class, arrival, chat)
    waits = [math.nan] * len(arrivals)
    following = 0  # the next chat to arrive
    while following < len(arrivals) or waiting:
        upcoming = arrivals[following] if following < len(arrivals) else math.inf
        # A chat waits only while every agent is busy, so the first agent to be free takes the
        # most urgent waiting chat the moment it frees, unless a new chat arrives before that.
        if waiting and free_at[0] <= upcoming:
            _, arrived, chat = heapq.heappop(waiting)
            start = heapq.heappop(free_at)
        else:
            chat, arrived = following, upcoming
            following += 1
            if free_at[0] > arrived:
                heapq.heappush(waiting, (0 if ranks is None else ranks[chat], arrived, chat))
                continue
            heapq.heappop(free_at)
            start = arrived
        waits[chat] = start - arrived
        heapq.heappush(free_at, start + handles[chat])
    return waits
