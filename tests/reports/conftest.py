"""The reports' tests play their day on the server's controlled clock (store/clock.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from switchboard.store import clock


@pytest.fixture
def controlled_clock() -> Iterator[None]:
    """The test sets and moves the server's clock; the real time comes back after it."""
    yield
    clock.reset_clock()
