"""The Lua transitions called directly through the router API, with a controlled clock."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from support import queue_and_agent, webchat
from switchboard.domain.config import QueueConfig
from switchboard.domain.errors import SwitchboardError

T0 = 1_800_000_000_000


async def offered(router):
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
    await router.set_state("a", "available", now=T0)
    await webchat(router, 1, T0 + 1, text="hi")
    (oid,) = await router.redis.smembers(router.keys.agent_offers("a"))
    return oid.decode()


async def test_a_deadline_fires_once_even_when_nodes_race(router):
    oid = await offered(router)
    assert await router.due_deadlines(T0 + 5_000) == []
    due = await router.due_deadlines(T0 + 10_001)
    assert due == [f"offer:{oid}"]
    results = await asyncio.gather(*(router.expire(due[0], now=T0 + 10_001) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    assert (await router.redis.hget(router.keys.agent("a"), "state")) == b"rona"
    assert await router.redis.zscore(router.keys.queue_waiting("q"), "s1") is not None


async def test_an_early_deadline_is_not_taken(router):
    oid = await offered(router)
    assert await router.expire(f"offer:{oid}", now=T0 + 9_000) is False
    assert (await router.redis.hget(router.keys.agent("a"), "state")) == b"available"


async def test_refusals_change_nothing(router):
    oid = await offered(router)
    before = await router.redis.hgetall(router.keys.session("s1"))
    with pytest.raises(SwitchboardError) as exc:
        await router.accept("someone-else", oid, now=T0 + 2)
    assert exc.value.code == "not_found"
    with pytest.raises(SwitchboardError) as exc:
        await router.wrap_up("a", "c1", "resolved", now=T0 + 2)
    assert exc.value.code == "forbidden"  # offered, not connected
    assert await router.redis.hgetall(router.keys.session("s1")) == before


async def test_inactivity_rearms_lazily_from_last_activity(router):
    oid = await offered(router)
    await router.accept("a", oid, now=T0 + 2)
    await router.post_message("c1", "customer", "v1", "", "still there", now=T0 + 50_000)
    # due at T0+60_002, but the conversation was active at T0+50_000: re-armed, not ended
    assert await router.expire("inact:s1", now=T0 + 60_002) is False
    assert await router.redis.zscore(router.keys.deadlines, "inact:s1") == T0 + 110_000
    assert await router.expire("inact:s1", now=T0 + 110_000) is True
    assert await router.redis.hget(router.keys.session("s1"), "end_reason") == b"inactivity_timeout"


async def test_estimated_wait_is_the_recent_wait_per_place_in_line_times_the_position(router):
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=600), T0, capacity=1)
    pubsub = router.redis.pubsub()
    await pubsub.subscribe(*(router.keys.channel(f"v:v{i}") for i in range(1, 5)))

    async def queued_frame() -> dict:
        deadline = asyncio.get_running_loop().time() + 5
        while asyncio.get_running_loop().time() < deadline:
            # None also stands for a skipped subscribe confirmation: read on
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                frame = msgspec.json.decode(message["data"])
                if frame["type"] == "chat.queued":
                    return frame
        raise AssertionError("no chat.queued published")

    await router.start_chat(
        visitor_id="v1", conversation_id="c1", session_id="s1", queue="q", language="en", channel="webchat", now=T0
    )
    assert "estimated_wait_ms" not in await queued_frame(), "no answered session yet: no estimate"
    await router.set_state("a", "available", now=T0 + 30_000)
    (oid,) = await router.redis.smembers(router.keys.agent_offers("a"))
    await router.accept("a", oid.decode(), now=T0 + 30_000)  # waited 30 s at place 1

    await router.start_chat(
        visitor_id="v2",
        conversation_id="c2",
        session_id="s2",
        queue="q",
        language="en",
        channel="webchat",
        now=T0 + 40_000,
    )
    assert (await queued_frame())["estimated_wait_ms"] == 30_000
    await router.start_chat(
        visitor_id="v3",
        conversation_id="c3",
        session_id="s3",
        queue="q",
        language="en",
        channel="webchat",
        now=T0 + 41_000,
    )
    third = await queued_frame()
    assert third["position"] == 2 and third["estimated_wait_ms"] == 60_000
    # answers older than an hour say nothing about now
    await router.start_chat(
        visitor_id="v4",
        conversation_id="c4",
        session_id="s4",
        queue="q",
        language="en",
        channel="webchat",
        now=T0 + 3_700_000,
    )
    assert "estimated_wait_ms" not in await queued_frame()
    await pubsub.aclose()


async def test_a_session_held_for_the_opening_is_routed_when_it_opens(router):
    await queue_and_agent(router, QueueConfig(name="Q"), T0)
    await router.set_state("a", "available", now=T0)
    opens = T0 + 3_600_000
    result = await router.start_chat(
        visitor_id="v1",
        conversation_id="c1",
        session_id="s1",
        queue="q",
        language="en",
        channel="messaging",
        text="hi",
        hold_until=opens,
        closed_message="closed",
        now=T0 + 1,
    )
    assert result["opens_at"] == opens
    await router.set_state("a", "not_ready", now=T0 + 2)
    await router.set_state("a", "available", now=T0 + 3)  # routing runs, the held session stays
    assert await router.redis.smembers(router.keys.agent_offers("a")) == set()
    assert await router.due_deadlines(opens - 1) == []
    assert "step:s1:0" in await router.due_deadlines(opens)
    assert await router.expire("step:s1:0", now=opens) is True
    assert len(await router.redis.smembers(router.keys.agent_offers("a"))) == 1


async def test_a_redis_that_lost_the_libraries_gets_them_again_on_the_next_call(router):
    """A fresh Redis, or one restarted without persistence, has no Functions
    libraries: the next call loads them and the step runs, once."""
    oid = await offered(router)
    await router.redis.function_flush()
    assert await router.redis.function_list() == []
    result = await router.accept("a", oid, now=T0 + 2)
    assert result["conversation_id"] == "c1"
    assert (await router.redis.hget(router.keys.session("s1"), "status")) == b"active"
    posted = await router.post_message("c1", "customer", "v1", "", "after the flush", now=T0 + 3)
    assert [m["text"] for m in await router.history("c1") if m["type"] == "message"][-1] == "after the flush"
    assert posted["seq"] == (await router.history("c1"))[-1]["seq"]
    # FUNCTION LIST answers [[b"library_name", name, ...], ...]
    names = sorted(entry[1].decode().split("_")[1] for entry in await router.redis.function_list())
    assert names == ["conversation", "routing"]


def test_the_lua_prelude_and_the_router_agree_on_which_fields_hold_lists():
    """Frames published from a script and from the Router write an empty list as []."""
    import re

    from switchboard.store.lists import LIST_FIELDS
    from switchboard.store.scripts import library

    listed = re.search(r"local LIST_FIELDS = \{([^}]*)\}", library("routing").prelude).group(1)
    assert set(re.findall(r"'([a-z_]+)'", listed)) == set(LIST_FIELDS)


async def test_a_frame_published_by_a_step_writes_an_empty_list_as_a_list(router):
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
    pubsub = router.redis.pubsub()
    await pubsub.subscribe(router.keys.channel("a:a"))
    await router.set_state("a", "available", now=T0)
    await router.start_chat(
        visitor_id="v1", conversation_id="c1", session_id="s1", queue="q", language="en", channel="webchat", now=T0 + 1
    )
    offer = None
    while offer is None:
        message = await asyncio.wait_for(pubsub.get_message(ignore_subscribe_messages=True, timeout=5), 5)
        if message and b'"offer"' in message["data"]:
            offer = message["data"]
    await pubsub.aclose()
    frame = msgspec.json.decode(offer)
    assert frame["skills"] == [] and frame["thread"] == []


async def test_a_starting_node_removes_the_libraries_of_other_versions_and_keeps_its_own(router):
    from switchboard.store.scripts import remove_other_versions

    await router.put_queue("q", msgspec.json.encode(QueueConfig(name="Q")))  # loads this version's libraries
    old = "switchboard_routing_000000000000"
    await router.redis.function_load(
        f"#!lua name={old}\nredis.register_function('sb_000000000000_noop', function() return 1 end)"
    )
    foreign = "someone_elses"
    await router.redis.function_load(
        f"#!lua name={foreign}\nredis.register_function('their_noop', function() return 1 end)"
    )

    assert await remove_other_versions(router.redis) == [old]
    names = {entry[1].decode() for entry in await router.redis.function_list()}
    assert old not in names and foreign in names
    assert any(name.startswith("switchboard_routing_") for name in names)
    await router.redis.function_delete(foreign)
    await router.put_queue("q", msgspec.json.encode(QueueConfig(name="Q2")))  # its own still answer
