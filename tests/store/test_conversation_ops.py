"""The two-step split of a routing step: the routing script writes conversation ops
to an outbox under the routing tag, and conversation_apply.lua applies them on the
conversation's own slot. A node that dies between the two steps loses nothing: the
outbox's repair deadline makes any node's sweeper apply the ops, exactly once."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from redis.asyncio import Redis

from support import queue_and_agent, webchat
from switchboard.domain.config import AgentConfig, QueueConfig
from switchboard.domain.errors import SwitchboardError
from switchboard.store.engine import Timeouts
from switchboard.store.keys import Keys
from switchboard.store.router import Router

T0 = 1_800_000_000_000


@pytest.fixture
async def router(redis_url):
    redis = Redis.from_url(redis_url)
    # the two-step mode of Redis Cluster, where a node can die between the steps
    yield Router(redis, Keys("ops"), Timeouts(inactivity_ms=60_000, grace_ms=5_000), conversation_ops="outbox")
    await redis.aclose()


async def connected_chat(router: Router) -> None:
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
    await router.set_state("a", "available", now=T0)
    await webchat(router, 1, T0 + 1, text="hi")
    (oid,) = await router.redis.smembers(router.keys.agent_offers("a"))
    await router.accept("a", oid.decode(), now=T0 + 2)


async def routing_step_only(router: Router, script: str, *args: object, now: int) -> None:
    """The first step alone: what a node that died right after it leaves behind."""
    k = router.keys
    await router.scripts[script](keys=[k.root], args=[k.prefix, now, 60_000, 5_000, "0", *args])


async def history_types(router: Router) -> list[str]:
    return [event["type"] for event in await router.history("c1")]


async def test_a_routing_step_leaves_no_ops_behind(router):
    await connected_chat(router)
    assert await history_types(router) == ["message", "chat.connected"]
    assert await router.redis.exists(router.keys.root + ":outbox:c1") == 0
    assert await router.redis.zscore(router.keys.deadlines, "outbox:c1") is None
    replica = await router.redis.hmget(router.keys.conversation("c1"), "agents", "open", "visitor")
    assert replica == [b"a", b"1", b"v1"]


async def test_ops_a_crashed_node_left_are_applied_once_by_the_repair_sweep(router):
    await connected_chat(router)
    pubsub = router.redis.pubsub()
    await pubsub.subscribe(router.keys.channel("v:v1"))
    await routing_step_only(router, "end_session", "agent", "a", "c1", now=T0 + 10)
    # the routing side has ended the session; the message side does not know yet
    assert await router.redis.hget(router.keys.conversation_record("c1"), "open") == b"0"
    assert await history_types(router) == ["message", "chat.connected"]

    assert "outbox:c1" not in await router.due_deadlines(T0 + 10 + 2_999)
    assert "outbox:c1" in await router.due_deadlines(T0 + 10 + 3_000)
    fired = await asyncio.gather(*(router.expire("outbox:c1", now=T0 + 3_010) for _ in range(3)))
    assert sorted(fired) == [False, False, True]

    assert await history_types(router) == ["message", "chat.connected", "chat.ended", "csat.requested"]
    assert await router.redis.hget(router.keys.conversation("c1"), "open") == b"0"
    assert await router.redis.exists(router.keys.root + ":outbox:c1") == 0
    assert await router.redis.zscore(router.keys.deadlines, "outbox:c1") is None
    # the customer is told by the node that applied the ops
    delivered = []
    while len(delivered) < 2:
        message = await asyncio.wait_for(pubsub.get_message(ignore_subscribe_messages=True, timeout=5), 5)
        if message:
            delivered.append(msgspec.json.decode(message["data"])["type"])
    assert delivered == ["chat.ended", "csat.requested"]
    await pubsub.aclose()


async def test_a_later_routing_step_applies_the_ops_an_earlier_one_left_first(router):
    await connected_chat(router)
    await routing_step_only(router, "transfer", "a", "c1", "queue", "q", now=T0 + 10)
    assert await history_types(router) == ["message", "chat.connected"]
    # the next step that writes to the conversation (an agent accepts it) applies both, in order
    await router.put_agent("b", msgspec.json.encode(AgentConfig(display_name="B", languages=["en"], queues=["q"])))
    version = (await router.redis.hget(router.keys.agent("b"), "token_version")).decode()
    await router.connect("a", "b", "n:2", version, now=T0 + 30)
    await router.set_state("b", "available", now=T0 + 30)
    (oid,) = await router.redis.smembers(router.keys.agent_offers("b"))
    await router.accept("b", oid.decode(), now=T0 + 40)
    assert await history_types(router) == ["message", "chat.connected", "chat.transferred", "chat.connected"]
    seqs = [event["seq"] for event in await router.history("c1")]
    assert seqs == [1, 2, 3, 4]
    assert await router.redis.exists(router.keys.root + ":outbox:c1") == 0


async def test_applying_the_same_ops_twice_changes_nothing(router):
    await connected_chat(router)
    await routing_step_only(router, "end_session", "agent", "a", "c1", now=T0 + 10)
    k = router.keys
    ops = await router.redis.lrange(k.root + ":outbox:c1", 0, -1)
    keys = [k.conversation("c1"), k.history("c1"), k.client_msg_ids("c1")]
    first, second = [
        msgspec.json.decode(await router.scripts["conversation_apply"](keys=keys, args=["c1", *ops])) for _ in range(2)
    ]
    assert len(first["frames"]) == 2
    assert second["frames"] in ([], {})  # cjson writes an empty list as {}
    assert first["applied"] == second["applied"]
    assert await history_types(router) == ["message", "chat.connected", "chat.ended", "csat.requested"]


async def test_conversations_of_the_earlier_layout_get_their_routing_record_on_upgrade(router):
    await connected_chat(router)
    k, redis = router.keys, router.redis
    # as the version before routing records wrote it: the routing fields in the
    # message-side hash, the session list beside it
    record = await redis.hgetall(k.conversation_record("c1"))
    await redis.hset(k.conversation("c1"), mapping={f: v for f, v in record.items() if f != b"ops"})
    await redis.rpush(k.conversation("c1") + ":sessions", *await redis.lrange(k.conversation_sessions("c1"), 0, -1))
    await redis.delete(k.conversation_record("c1"), k.conversation_sessions("c1"), k.data_version)
    with pytest.raises(SwitchboardError):
        await router.end_session("a", "c1", now=T0 + 10)

    assert sorted(await asyncio.gather(router.upgrade(), router.upgrade())) == [0, 1]  # nodes starting together
    assert await router.upgrade() == 0  # once per deployment
    assert await redis.lrange(k.conversation_sessions("c1"), 0, -1) == [b"s1"]
    await router.end_session("a", "c1", now=T0 + 10)
    assert await history_types(router) == ["message", "chat.connected", "chat.ended", "csat.requested"]


async def test_a_message_right_after_a_crashed_step_applies_its_ops_first_instead_of_failing(router):
    await queue_and_agent(router, QueueConfig(name="Q", offer_timeout_s=10), T0)
    await router.set_state("a", "available", now=T0)
    # the node dies right after the start_chat routing step: the message side of
    # the new conversation does not exist yet, its repair is 3 s away
    await routing_step_only(
        router,
        "start_chat",
        "v1",
        "c1",
        "s1",
        "q",
        "en",
        "[]",
        "webchat",
        "{}",
        "{}",
        "hi",
        "new",
        "",
        "",
        "",
        "",
        now=T0 + 1,
    )
    assert await router.redis.exists(router.keys.conversation("c1")) == 0
    # the customer, reconnected elsewhere, writes: accepted, after the opening message
    ack = await router.post_message("c1", "customer", "v1", "", "still there?", now=T0 + 5)
    assert ack["seq"] == 2
    assert [e.get("text") for e in await router.history("c1")] == ["hi", "still there?"]
    # the agent accepts on a node that dies before applying: its reply is not refused
    (oid,) = await router.redis.smembers(router.keys.agent_offers("a"))
    await routing_step_only(router, "accept", "a", oid.decode(), now=T0 + 6)
    reply = await router.post_message("c1", "agent", "a", "A", "hello!", now=T0 + 7)
    assert [e["type"] for e in await router.history("c1")] == ["message", "message", "chat.connected", "message"]
    assert reply["seq"] == 4
    # a stranger is still refused: nothing was pending
    with pytest.raises(SwitchboardError) as refused:
        await router.post_message("c1", "agent", "mallory", "M", "hi", now=T0 + 8)
    assert refused.value.code == "forbidden"
