"""Who is offered what: routing rules where the socket adds nothing, called on the store."""

from __future__ import annotations

from typing import Any

import msgspec

from switchboard.domain.config import AgentConfig, QueueConfig
from switchboard.domain.errors import SwitchboardError
from switchboard.store.router import Router

T0 = 1_800_000_000_000


async def queue(router: Router, qid: str, **config: Any) -> None:
    await router.put_queue(qid, msgspec.json.encode(QueueConfig(name=qid.title(), **config)))


async def agent(router: Router, aid: str, now: int, queues: list[str], available: bool = True, **config: Any) -> None:
    """An agent connected on one socket; available unless told otherwise."""
    config.setdefault("languages", ["en"])
    await router.put_agent(aid, msgspec.json.encode(AgentConfig(display_name=aid.title(), queues=queues, **config)))
    version = (await router.redis.hget(router.keys.agent(aid), "token_version")).decode()
    await router.connect(aid, aid, f"n:{aid}", version, now=now)
    if available:
        await router.set_state(aid, "available", now=now)


async def chat(router: Router, sid: str, now: int, queue: str = "q", language: str = "en", **start: Any) -> None:
    await router.start_chat(
        visitor_id=f"v-{sid}",
        conversation_id=f"c-{sid}",
        session_id=sid,
        queue=queue,
        language=language,
        channel="webchat",
        text="hello",
        now=now,
        **start,
    )


async def offered_to(router: Router, sid: str) -> str | None:
    """The agent the session's current offer rings at, if any."""
    offer = await router.redis.hget(router.keys.session(sid), "offer")
    if not offer:
        return None
    for aid in await router.redis.smembers(router.keys.agents):
        if await router.redis.sismember(router.keys.agent_offers(aid.decode()), offer):
            return aid.decode()
    return None


async def serve(router: Router, aid: str, sid: str, now: int) -> None:
    """The agent accepts the session's offer, ends the session and wraps it up."""
    offer = (await router.redis.hget(router.keys.session(sid), "offer")).decode()
    await router.accept(aid, offer, now=now)
    await router.end_session(aid, f"c-{sid}", now=now + 1)
    await router.wrap_up(aid, f"c-{sid}", "resolved", now=now + 2)


async def test_only_members_of_the_queue_get_offers(router):
    await queue(router, "q")
    await queue(router, "sales")
    await agent(router, "outsider", T0, queues=["sales"])
    await agent(router, "member", T0 + 1, queues=["q"])
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "member"


async def test_language_and_skills_decide_eligibility(router):
    await queue(router, "q", skills=["billing"])
    await agent(router, "en-billing", T0, queues=["q"], skills=["billing"])
    await agent(router, "de-plain", T0 + 1, queues=["q"], languages=["de"])
    await agent(router, "de-billing", T0 + 2, queues=["q"], languages=["de", "en"], skills=["billing", "vip"])
    await chat(router, "s1", T0 + 10, language="de", skills=["vip"])
    assert await offered_to(router, "s1") == "de-billing"


async def test_longest_idle_agent_first_then_the_other(router):
    await queue(router, "q")
    await agent(router, "first", T0, queues=["q"])
    await agent(router, "second", T0 + 5, queues=["q"])
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "first"
    offer = (await router.redis.hget(router.keys.session("s1"), "offer")).decode()
    await router.accept("first", offer, now=T0 + 11)
    await chat(router, "s2", T0 + 12)
    assert await offered_to(router, "s2") == "second"


async def test_queue_priority_then_arrival_order(router):
    await queue(router, "q")
    await queue(router, "vip", priority=10)
    await agent(router, "alice", T0, queues=["q", "vip"], available=False, capacity=1)
    await chat(router, "low-first", T0 + 1)
    await chat(router, "low-second", T0 + 2)
    await chat(router, "high", T0 + 3, queue="vip")
    await router.set_state("alice", "available", now=T0 + 10)
    order = []
    now = T0 + 20
    for _ in range(3):
        ringing = [sid for sid in ("high", "low-first", "low-second") if await offered_to(router, sid) == "alice"]
        assert len(ringing) == 1, ringing  # capacity 1: one offer at a time
        order.append(ringing[0])
        await serve(router, "alice", ringing[0], now)
        now += 10
    assert order == ["high", "low-first", "low-second"]


async def test_a_minimum_proficiency_passes_over_agents_below_it(router):
    await queue(router, "q", skills=["billing"], min_proficiency={"billing": 4})
    await agent(router, "default-level", T0, queues=["q"], skills=["billing"])  # level 3
    await agent(router, "novice", T0 + 1, queues=["q"], skills=["billing"], proficiency={"billing": 1})
    await agent(router, "expert", T0 + 2, queues=["q"], skills=["billing"], proficiency={"billing": 5}, capacity=1)
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "expert"
    await chat(router, "s2", T0 + 11)
    assert await offered_to(router, "s2") is None  # nobody else is good enough: it waits


async def test_a_routing_step_may_lower_the_minimum(router):
    await queue(
        router, "q", skills=["billing"], min_proficiency={"billing": 5}, steps=[{"after_s": 10, "min_proficiency": {}}]
    )
    await agent(router, "average", T0, queues=["q"], skills=["billing"])
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") is None
    for member in await router.due_deadlines(T0 + 10_010):
        await router.expire(member, now=T0 + 10_010)
    assert await offered_to(router, "s1") == "average"


async def test_best_skilled_wins_over_idle_time_and_idle_time_breaks_ties(router):
    await queue(router, "q", skills=["billing"], agent_selection="best_skilled")
    await agent(router, "idle-long", T0, queues=["q"], skills=["billing", "tech"], proficiency={"billing": 2})
    await agent(router, "skilled-1", T0 + 1, queues=["q"], skills=["billing"], proficiency={"billing": 5})
    await agent(router, "skilled-2", T0 + 2, queues=["q"], skills=["billing"], proficiency={"billing": 5})
    await chat(router, "s1", T0 + 10, skills=["tech"])  # billing 2 + tech 3 = 5 beats billing 5 alone, which lacks tech
    assert await offered_to(router, "s1") == "idle-long"
    await chat(router, "s2", T0 + 11)
    assert await offered_to(router, "s2") == "skilled-1"  # 5 and 5: the longer idle one
    await chat(router, "s3", T0 + 12)
    assert await offered_to(router, "s3") == "skilled-2"


async def test_longest_idle_ignores_proficiency(router):
    await queue(router, "q", skills=["billing"])
    await agent(router, "idle-long", T0, queues=["q"], skills=["billing"], proficiency={"billing": 1})
    await agent(router, "expert", T0 + 1, queues=["q"], skills=["billing"], proficiency={"billing": 5})
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "idle-long"


async def waiting_order(router: Router, qid: str = "q") -> list[str]:
    return [sid.decode() for sid in await router.redis.zrange(router.keys.queue_waiting(qid), 0, -1)]


async def test_a_chat_priority_raises_it_within_its_queue_up_to_the_queues_maximum(router):
    await queue(router, "q", max_chat_priority=5)
    await chat(router, "plain", T0)
    await chat(router, "vip", T0 + 1, priority=5)
    await chat(router, "plain-later", T0 + 2)
    assert await waiting_order(router) == ["vip", "plain", "plain-later"]
    try:
        await chat(router, "too-high", T0 + 3, priority=6)
    except SwitchboardError as refused:
        assert refused.code.value == "bad_request" and "at most 5" in refused.message
    else:
        raise AssertionError("a priority above max_chat_priority was accepted")


async def test_aging_lets_a_long_wait_overtake_a_higher_priority(router):
    # 2 points per minute: one point of priority is worth 30 s of waiting
    await queue(router, "q", max_chat_priority=10, priority_aging_per_min=2)
    await chat(router, "old", T0)
    await chat(router, "vip-29s", T0 + 29_000, priority=1)  # 1 point = 30 s: ahead of "old" by 1 s
    await chat(router, "vip-31s", T0 + 31_000, priority=1)  # behind "old" by 1 s
    await chat(router, "vip-2m", T0 + 120_000, priority=10)  # 10 points = 5 min: the head
    assert await waiting_order(router) == ["vip-2m", "vip-29s", "old", "vip-31s"]
    alice_order = []
    await agent(router, "alice", T0 + 200_000, queues=["q"], capacity=1)
    now = T0 + 200_010
    for _ in range(4):
        ringing = await router.redis.zrange(router.keys.queue_waiting("q"), 0, -1)
        offered = [sid for sid in ("old", "vip-29s", "vip-31s", "vip-2m") if await offered_to(router, sid) == "alice"]
        assert len(offered) == 1, (offered, ringing)
        alice_order.append(offered[0])
        await serve(router, "alice", offered[0], now)
        now += 10
    assert alice_order == ["vip-2m", "vip-29s", "old", "vip-31s"]


async def sweep(router: Router, now: int) -> None:
    """Runs the deadlines due at `now`, as a node's sweeper does."""
    for member in await router.due_deadlines(now):
        await router.expire(member, now=now)


async def test_a_chat_overflows_after_its_wait_and_keeps_its_place_in_time(router):
    await queue(router, "backup")
    await queue(router, "q", overflow_to=["backup"], overflow_after_s=30)
    await agent(router, "member", T0, queues=["q"], available=False)  # signed in, not ready
    await agent(router, "helper", T0, queues=["backup"], capacity=1)
    await chat(router, "early", T0 + 10)
    assert await offered_to(router, "early") is None  # not overflowed yet: the helper stays free
    await router.set_state("helper", "not_ready", now=T0 + 15)
    await chat(router, "own", T0 + 20_000, queue="backup")
    await sweep(router, T0 + 30_010)  # "early" overflows, with the time it entered its queue
    assert await router.redis.zrange(router.keys.queue_overflow("backup"), 0, -1) == [b"early"]
    await router.set_state("helper", "available", now=T0 + 30_020)
    assert await offered_to(router, "early") == "helper"  # ahead of "own", which came later
    assert await router.redis.zrange(router.keys.queue_waiting("q"), 0, -1) == []
    assert await router.redis.zrange(router.keys.queue_overflow("backup"), 0, -1) == []
    await serve(router, "helper", "early", T0 + 30_030)
    assert await offered_to(router, "own") == "helper"


async def test_a_chat_overflows_at_once_when_nobody_of_its_queue_is_signed_in(router):
    await queue(router, "backup")
    await queue(router, "q", overflow_to=["backup"], overflow_after_s=600)
    await agent(router, "helper", T0, queues=["backup"])
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "helper"
    # declined: back in its queue, still overflowed, but never to the same agent
    offer = (await router.redis.hget(router.keys.session("s1"), "offer")).decode()
    await router.decline("helper", offer, now=T0 + 20)
    assert await router.redis.zrange(router.keys.queue_overflow("backup"), 0, -1) == [b"s1"]
    await agent(router, "helper-2", T0 + 30, queues=["backup"])
    assert await offered_to(router, "s1") == "helper-2"


async def test_a_staffed_queue_without_overflow_after_keeps_its_chats(router):
    await queue(router, "backup")
    await queue(router, "q", overflow_to=["backup"])
    await agent(router, "member", T0, queues=["q"], available=False)
    await agent(router, "helper", T0, queues=["backup"])
    await chat(router, "s1", T0 + 10)
    await sweep(router, T0 + 3_600_000)
    assert await offered_to(router, "s1") is None


async def test_a_queue_has_its_own_inactivity_timeout_and_warns_before_it(router):
    await queue(router, "q", inactivity_timeout_s=60, inactivity_warning_s=20)
    await agent(router, "alice", T0, queues=["q"])
    await chat(router, "s1", T0 + 10)
    offer = (await router.redis.hget(router.keys.session("s1"), "offer")).decode()
    await router.accept("alice", offer, now=T0 + 20)
    deadline = await router.redis.zscore(router.keys.deadlines, "inact:s1")
    assert deadline == T0 + 20 + 40_000  # the warning comes first
    await sweep(router, T0 + 40_020)
    assert await router.redis.hget(router.keys.session("s1"), "inact_warned") == str(T0 + 20).encode()
    assert await router.redis.zscore(router.keys.deadlines, "inact:s1") == T0 + 60_020
    await router.post_message("c-s1", "customer", "v-s1", "V", "still here", now=T0 + 50_000)
    await sweep(router, T0 + 60_020)  # written since: a new silence, warned again 20 s before its end
    assert await router.redis.zscore(router.keys.deadlines, "inact:s1") == T0 + 90_000
    await sweep(router, T0 + 90_000)
    assert await router.redis.hget(router.keys.session("s1"), "status") == b"active"
    await sweep(router, T0 + 110_000)
    session = await router.redis.hmget(router.keys.session("s1"), "status", "end_reason")
    assert session == [b"wrap_up", b"inactivity_timeout"]


async def test_without_its_own_timeout_a_queue_follows_the_setting(router):
    await queue(router, "q")
    await agent(router, "alice", T0, queues=["q"])
    await chat(router, "s1", T0 + 10)
    offer = (await router.redis.hget(router.keys.session("s1"), "offer")).decode()
    await router.accept("alice", offer, now=T0 + 20)
    assert await router.redis.zscore(router.keys.deadlines, "inact:s1") == T0 + 20 + router.timeouts.inactivity_ms


async def test_a_returning_customer_goes_first_to_its_last_agent(router):
    await queue(router, "q", sticky_for_s=600)
    await agent(router, "idle-long", T0, queues=["q"])
    await agent(router, "bob", T0 + 1, queues=["q"])
    await router.set_state("idle-long", "not_ready", now=T0 + 2)
    await chat(router, "s1", T0 + 10)
    assert await offered_to(router, "s1") == "bob"
    await serve(router, "bob", "s1", T0 + 20)
    await router.set_state("idle-long", "available", now=T0 + 30)
    await router.set_state("bob", "not_ready", now=T0 + 40)
    await router.set_state("bob", "available", now=T0 + 50)  # idle since T0 + 50, idle-long since T0 + 30
    # the same visitor comes back within sticky_for_s: bob, although idle-long waited longer
    await router.start_chat(
        visitor_id="v-s1", conversation_id="c-back", session_id="back", queue="q", language="en", now=T0 + 60
    )
    assert await offered_to(router, "back") == "bob"


async def test_stickiness_ends_after_its_time_and_never_waits_for_a_busy_agent(router):
    await queue(router, "q", sticky_for_s=60)
    await agent(router, "bob", T0, queues=["q"], capacity=1)
    await chat(router, "s1", T0 + 10)
    await serve(router, "bob", "s1", T0 + 20)  # ended at T0 + 21
    await agent(router, "carol", T0 + 30, queues=["q"])
    await chat(router, "busy", T0 + 40)
    assert await offered_to(router, "busy") == "bob"  # longest idle
    await router.start_chat(
        visitor_id="v-s1", conversation_id="c-back", session_id="back", queue="q", language="en", now=T0 + 50
    )
    assert await offered_to(router, "back") == "carol"  # bob is busy: not waited for
    await serve(router, "bob", "busy", T0 + 55)
    await serve(router, "carol", "back", T0 + 60)  # carol served it last now, ended at T0 + 61; bob idles longer
    await router.start_chat(
        visitor_id="v-s1", conversation_id="c-late", session_id="late", queue="q", language="en", now=T0 + 70_000
    )
    assert await offered_to(router, "late") == "bob"  # past the 60 s: longest idle again


async def test_a_message_that_reopens_the_conversation_goes_to_the_last_agent_too(router):
    await queue(router, "q", sticky_for_s=600)
    await agent(router, "bob", T0, queues=["q"])
    await chat(router, "s1", T0 + 10)
    await serve(router, "bob", "s1", T0 + 20)
    await agent(router, "idle-long", T0 + 30, queues=["q"])  # idle since T0 + 30; bob, after this, since T0 + 50
    await router.set_state("bob", "not_ready", now=T0 + 40)
    await router.set_state("bob", "available", now=T0 + 50)
    await router.start_chat(
        visitor_id="v-s1", conversation_id="c-s1", session_id="s2", text="again", mode="reopen", now=T0 + 60
    )
    assert await offered_to(router, "s2") == "bob"
