"""After-contact work on the store: when the slot is freed, notes after the end, wrap-up codes and reasons."""

from __future__ import annotations

import pytest
from test_routing_rules import T0, agent, chat, offered_to, queue

from switchboard.domain.errors import SwitchboardError
from switchboard.store.router import Router


async def ended(router: Router, aid: str, sid: str, now: int) -> None:
    """The agent accepts the session's offer and ends the session: it is in wrap-up."""
    offer = (await router.redis.hget(router.keys.session(sid), "offer")).decode()
    await router.accept(aid, offer, now=now)
    await router.end_session(aid, f"c-{sid}", now=now + 1)


async def test_a_queue_that_releases_capacity_on_end_offers_the_next_chat_during_the_wrap_up(router):
    await queue(router, "q", release_capacity_on="end")
    await agent(router, "a", T0, queues=["q"], capacity=1)
    await chat(router, "s1", T0 + 1)
    await ended(router, "a", "s1", T0 + 2)
    await chat(router, "s2", T0 + 10)
    assert await offered_to(router, "s2") == "a"
    # the wrap-up of s1 is still owed, and closes normally
    assert (await router.redis.hget(router.keys.session("s1"), "wrapping")) == b"a"
    done = await router.wrap_up("a", "c-s1", "resolved", now=T0 + 20)
    assert done["session_id"] == "s1"
    assert await router.redis.scard(router.keys.agent_slots("a")) == 0  # s2 is on offer, not in a slot yet


async def test_by_default_the_wrap_up_holds_the_slot(router):
    await queue(router, "q")
    await agent(router, "a", T0, queues=["q"], capacity=1)
    await chat(router, "s1", T0 + 1)
    await ended(router, "a", "s1", T0 + 2)
    await chat(router, "s2", T0 + 10)
    assert await offered_to(router, "s2") is None
    await router.wrap_up("a", "c-s1", "resolved", now=T0 + 20)
    assert await offered_to(router, "s2") == "a"


async def test_a_released_wrap_up_still_blocks_deleting_the_agent_and_times_out_with_the_default_code(router):
    await queue(router, "q", release_capacity_on="end", wrap_up_timeout_s=5, default_wrap_up_code="resolved")
    await agent(router, "a", T0, queues=["q"], capacity=1)
    await chat(router, "s1", T0 + 1)
    await ended(router, "a", "s1", T0 + 2)
    with pytest.raises(SwitchboardError) as refused:
        await router.delete_agent("a")
    assert refused.value.code == "conflict"
    assert await router.expire("wrapup:s1:a", now=T0 + 5_010) is True
    s1 = await router.redis.hmget(router.keys.session("s1"), "status", "wrap_code", "wrap_label")
    assert s1 == [b"closed", b"resolved", b"Resolved"]
    assert await router.redis.scard(router.keys.agent_slots("a")) == 0


async def test_notes_after_the_end_only_from_agents_that_served_the_conversation(router):
    await queue(router, "q")
    await agent(router, "a", T0, queues=["q"])
    await agent(router, "b", T0 + 1, queues=["q"], available=False)
    await chat(router, "s1", T0 + 2)
    await ended(router, "a", "s1", T0 + 3)
    await router.post_message("c-s1", "agent", "a", "A", "in wrap-up", kind="note", now=T0 + 4)
    await router.wrap_up("a", "c-s1", "resolved", now=T0 + 5)
    await router.post_message("c-s1", "agent", "a", "A", "after it", kind="note", now=T0 + 6)
    for sender, kind in (("a", "message"), ("b", "note")):
        with pytest.raises(SwitchboardError) as refused:
            await router.post_message("c-s1", "agent", sender, sender.upper(), "no", kind=kind, now=T0 + 7)
        assert refused.value.code == "forbidden"


async def test_a_wrap_up_refusal_changes_nothing(router):
    await queue(router, "q", wrap_up_notes="required", max_dispositions=2)
    await router.put_not_ready_reasons(["Lunch"])
    await agent(router, "a", T0, queues=["q"])
    await chat(router, "s1", T0 + 1)
    await ended(router, "a", "s1", T0 + 2)
    before = await router.redis.hgetall(router.keys.session("s1"))
    attempts = [
        {"codes": ["resolved", "not_resolved", "resolved2"], "notes": "n"},
        {"codes": ["resolved"], "notes": " "},
        {"codes": ["resolved"], "notes": "n", "next_state": "not_ready", "reason": "Nap"},
    ]
    for attempt in attempts:
        with pytest.raises(SwitchboardError) as refused:
            await router.wrap_up("a", "c-s1", now=T0 + 3, **attempt)
        assert refused.value.code == "bad_request"
    assert await router.redis.hgetall(router.keys.session("s1")) == before
    done = await router.wrap_up(
        "a", "c-s1", ["resolved", "not_resolved"], "n", now=T0 + 4, next_state="not_ready", reason="Lunch"
    )
    assert [c["code"] for c in done["codes"]] == ["resolved", "not_resolved"]
    state = await router.redis.hmget(router.keys.agent("a"), "state", "reason")
    assert state == [b"not_ready", b"Lunch"]


async def test_a_wrap_up_without_a_code_is_refused(router):
    await queue(router, "q")
    await agent(router, "a", T0, queues=["q"])
    await chat(router, "s1", T0 + 1)
    await ended(router, "a", "s1", T0 + 2)
    with pytest.raises(SwitchboardError) as refused:
        await router.wrap_up("a", "c-s1", [], now=T0 + 3)
    assert refused.value.code == "bad_request"
    assert (await router.redis.hget(router.keys.session("s1"), "wrapping")) == b"a"
