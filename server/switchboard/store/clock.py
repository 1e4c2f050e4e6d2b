"""The one wall clock of the server, in milliseconds since the epoch.

Every lifecycle timestamp (Lua gets NOW from here, see store/engine.py) reads
`now_ms()`, so a test can play a day in minutes: `set_clock` puts the clock at
a moment, frozen there (the default) or running on from it, `advance_clock`
moves it on, `reset_clock` gives back the real time. Deadlines kept in Redis
(offer timeouts, inactivity, wrap-up, node liveness) fall due against this
clock too; what waits on asyncio's loop time (socket timeouts, sleeps) does not.
Tokens, signed links and account sessions keep the real time on purpose: they
are checked against the real world (other processes, PostgreSQL's now()).
"""

from __future__ import annotations

import time

#: added to the real time; 0 in production
_offset_ms = 0
#: the moment a frozen clock shows; None when the clock runs
_frozen_at_ms: int | None = None


def now_ms() -> int:
    if _frozen_at_ms is not None:
        return _frozen_at_ms
    return time.time_ns() // 1_000_000 + _offset_ms


def set_clock(at_ms: int, *, frozen: bool = True) -> None:
    """The clock shows `at_ms` from now on (frozen) or from now on runs on from it."""
    global _offset_ms, _frozen_at_ms
    _offset_ms = at_ms - time.time_ns() // 1_000_000
    _frozen_at_ms = at_ms if frozen else None


def advance_clock(ms: int) -> int:
    """Moves the clock on by `ms` (frozen or running); returns the moment it shows."""
    if ms < 0:
        raise ValueError("the clock only moves forward")
    global _offset_ms, _frozen_at_ms
    _offset_ms += ms
    if _frozen_at_ms is not None:
        _frozen_at_ms += ms
    return now_ms()


def reset_clock() -> None:
    """The real time again."""
    global _offset_ms, _frozen_at_ms
    _offset_ms = 0
    _frozen_at_ms = None
