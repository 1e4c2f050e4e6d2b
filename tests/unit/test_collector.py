"""The node's garbage collector policy (switchboard/collector.py): what lived a while
is frozen out of the automatic collections, and still freed by the periodic full sweep."""

from __future__ import annotations

import gc
import weakref

import pytest

from switchboard.collector import Collector
from switchboard.settings import Settings


class Node:
    """Stands for a closed socket's state: a reference cycle only the collector frees."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def clock():
    now = [1000.0]
    yield now
    gc.unfreeze()


def test_cyclic_garbage_frozen_with_the_rest_is_freed_by_the_next_full_sweep_and_not_before(clock):
    collector = Collector(freeze_every_s=1.0, full_every_s=600.0, clock=lambda: clock[0])
    cycle = Node()
    alive = weakref.ref(cycle)
    collector.step()  # frozen: an automatic collection no longer walks it
    assert gc.get_freeze_count() > 0
    del cycle
    gc.collect()
    assert alive() is not None
    clock[0] += 599.0
    collector.step()
    gc.collect()
    assert alive() is not None
    clock[0] += 1.0
    collector.step()  # the full sweep: unfreeze, collect everything, freeze again
    assert alive() is None


def test_young_cyclic_garbage_is_freed_by_the_ordinary_collections(clock):
    collector = Collector(freeze_every_s=1.0, full_every_s=600.0, clock=lambda: clock[0])
    collector.step()
    cycle = Node()
    alive = weakref.ref(cycle)
    del cycle
    gc.collect()
    assert alive() is None


async def test_a_node_freezes_at_start_and_gives_everything_back_at_stop():
    gc.unfreeze()
    collector = Collector(freeze_every_s=3600.0, full_every_s=3600.0)
    async with collector:
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_the_freeze_interval_is_a_setting_and_zero_turns_it_off():
    env = {"SWITCHBOARD_GC_FREEZE_INTERVAL_S": "0", "SWITCHBOARD_GC_FULL_INTERVAL_S": "120"}
    settings = Settings.from_env(env)
    assert (settings.gc_freeze_interval_s, settings.gc_full_interval_s) == (0.0, 120.0)
    assert not Collector(settings.gc_freeze_interval_s, settings.gc_full_interval_s).enabled
    assert Settings.from_env({}).gc_freeze_interval_s == 1.0
    with pytest.raises(SystemExit, match="or 0: off"):
        Settings.from_env({"SWITCHBOARD_GC_FREEZE_INTERVAL_S": "-1"})
    with pytest.raises(SystemExit):
        Settings.from_env({"SWITCHBOARD_GC_FULL_INTERVAL_S": "0"})
