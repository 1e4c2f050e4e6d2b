"""The Functions libraries as built from the Lua files: includes, the local count, and the constants that Python
writes into the prelude."""

from __future__ import annotations

import asyncio
import re

import msgspec
import pytest
from redis.asyncio import Redis

from support import queue_and_agent, webchat
from switchboard.domain.config import QueueConfig
from switchboard.domain.frames import THREAD_LENGTH
from switchboard.store import scripts

T0 = 1_800_000_000_000

#: Lua refuses a chunk with more than 200 locals at its top level; a library is one chunk.
LUA_LOCALS_LIMIT = 200

_TOP_LEVEL_LOCAL = re.compile(r"^local\s+(?:function\s+[\w.]+|([\w\s,]+?)\s*(?:=|--|$))", re.MULTILINE)


def top_level_locals(code: str) -> int:
    """The locals a chunk declares at its top level (indented declarations are inside functions)."""
    count = 0
    for match in _TOP_LEVEL_LOCAL.finditer(code):
        names = match.group(1)
        count += 1 if names is None else len(names.split(","))
    return count


@pytest.mark.parametrize("name", sorted(scripts.PRELUDES))
def test_every_library_stays_well_under_the_lua_locals_limit(name):
    assert top_level_locals(scripts.library(name).prelude) <= LUA_LOCALS_LIMIT // 2


def test_the_count_of_locals_counts_every_name_of_a_declaration():
    assert top_level_locals("local a, b, c\nlocal function f() local x = 1 end\nlocal y = 2 -- note\n  local z\n") == 5


def test_an_include_comes_once_and_before_what_includes_it():
    order = scripts.with_includes(["includes/lifecycle", "_apply", "includes/lifecycle", "includes/presence"])
    assert len(order) == len(set(order))
    for name in order:
        for included in scripts._INCLUDE.findall(scripts._source(name)):
            assert order.index(included) < order.index(name)


def test_every_library_loads_into_redis(redis_url):
    async def load_all() -> None:
        redis = Redis.from_url(redis_url)
        try:
            for name in scripts.PRELUDES:
                await scripts.load_library(redis, scripts.library(name))
        finally:
            await redis.aclose()

    asyncio.run(load_all())


@pytest.fixture
def thread_length_of_3(monkeypatch):
    """Libraries built with THREAD_LENGTH = 3 on the Python side and nothing else changed."""
    monkeypatch.setattr(scripts, "THREAD_LENGTH", 3)
    scripts.library.cache_clear()
    yield 3
    monkeypatch.undo()
    scripts.library.cache_clear()


async def test_the_thread_an_offer_carries_is_as_long_as_python_says(thread_length_of_3, router):
    assert thread_length_of_3 != THREAD_LENGTH
    redis = router.redis
    try:
        await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
        await webchat(router, 1, T0 + 1, text="m0")
        for n in range(1, 6):
            await router.post_message("c1", "customer", "v1", "", f"m{n}", now=T0 + 1 + n)
        pubsub = redis.pubsub()
        await pubsub.subscribe(router.keys.channel("a:a"))
        await router.set_state("a", "available", now=T0 + 10)
        offer = None
        while offer is None:
            message = await asyncio.wait_for(pubsub.get_message(ignore_subscribe_messages=True, timeout=5), 5)
            if message and b'"offer"' in message["data"]:
                offer = msgspec.json.decode(message["data"])
        await pubsub.aclose()
        assert [m["text"] for m in offer["thread"]] == ["m3", "m4", "m5"]
    finally:
        await redis.function_delete(scripts.library("routing").name)


async def test_lua_writes_the_keys_python_names(router):
    """The Lua library spells keys with the segments keys.py generates into it: a chat
    started by a script lands where Keys says, under every kind of key involved."""
    redis = router.redis
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
    await router.set_state("a", "available", now=T0 + 1)
    await webchat(router, 1, T0 + 2, text="hi")
    keys = router.keys
    assert await redis.hget(keys.session("s1"), "status") == b"offered"
    assert await redis.scard(keys.agent_offers("a")) == 1
    assert await redis.exists(keys.agent("a"), keys.queue("q"), keys.visitor("v1"), keys.conversation_record("c1")) == 4
    assert "local KEY = {session = 's', agent = 'a'" in scripts.library("routing").prelude
