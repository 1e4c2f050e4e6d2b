"""Stateful property test of the routing core (design principle 5).

Hypothesis drives random sequences of commands (agents change state, connect,
disconnect, accept, decline, let offers ring out, end and wrap up sessions,
transfer them to a queue or an agent, hold conferences and leave them; a
supervisor reassigns them (router_step_in.py);
customers start, write into and end chats, come and go; the clock moves and
due deadlines fire) through the real Redis-backed `Router`, with no sockets
and no mocks. After every step the invariants of the routing rules in
protocol.md are checked against what is stored in Redis:

1. no agent over capacity (active sessions + wrap-ups + pending offers), and
   the slots count exactly the sessions an agent is in or wrapping up;
2. no session offered to two agents at once (one offer per session, pointing
   back and forth); a transfer or conference offer ("side offer") belongs to a
   session that stays with its sender meanwhile;
3. no offer (nor auto-assignment) to an agent that was not `available` and
   connected at that moment, nor to one not eligible for that session (checked
   per router call by replaying the lifecycle stream, which keeps the order);
4. no session left waiting while an eligible agent is free (eligible: by
   language, skills and proficiency minimums, in its queue or, once it
   overflowed, in a queue of its queue's `overflow_to`), and an overflowed
   waiting session is listed for exactly those queues;
5. the order of each queue is kept: effective priority first (the queue's
   priority plus the chat's own, aged by `priority_aging_per_min`, compared
   exactly as fractions), then time entered; a session put
   back after decline, RONA or a revoked offer keeps its place (its score), and
   one put back by its agent's disconnect grace, or transferred to a queue,
   goes to the head of the queue;
6. every session ends at most once (exactly once if it is in wrap-up or
   closed), and an ended session never comes back;
and, from the same rules: a queue's max_wait_s ends a never-connected session,
and start_chat refuses a priority above the queue's max_chat_priority. The
queues draw proficiency minimums, best_skilled selection, chat priorities,
aging, overflow and sticky agents, so that every invariant holds with them.

Eligibility (4) is an independent oracle written from the contract's words
(routing steps, proficiency minimums and overflow included) over this test's
own model of agents and queues; it is not imported from the server. The model
and its strategies are in router_model.py, the oracle and the invariants'
checks in router_checks.py (a mixin of the machine below). Commands also check their own results: refusals
must be the expected ones (a visitor with an open chat gets `conflict`, a stale
offer `not_found`), and valid commands must succeed.

The run is bounded (60 examples of up to 40 steps, about 10 s); set
SWITCHBOARD_PROPERTY_EXAMPLES (and SWITCHBOARD_PROPERTY_STEPS) for a longer hunt.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from router_checks import RouterChecks
from router_model import (
    EXAMPLES,
    GRACE_MS,
    INACTIVITY_MS,
    LANGS,
    PREFIX,
    QUEUE_IDS,
    START,
    STEPS,
    VISITORS,
    AgentModel,
    QueueModel,
    R,
    SessionModel,
    Snapshot,
    agent_st,
    as_text,
    entry_score,
    queue_configs,
    words_of,
)
from router_step_in import StepInRules

from switchboard.domain.config import AgentConfig, QueueConfig
from switchboard.domain.errors import SwitchboardError
from switchboard.store.engine import Timeouts
from switchboard.store.errors import ConversationEnded
from switchboard.store.keys import Keys
from switchboard.store.router import Router

T = TypeVar("T")

# ---------------------------------------------------------------- the machine


class RouterMachine(RouterChecks, StepInRules, RuleBasedStateMachine):
    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = aioredis.Redis.from_url(redis_url)
        self.run(self.redis.flushall())
        self.keys = Keys(PREFIX)
        self.router = Router(self.redis, self.keys, Timeouts(inactivity_ms=INACTIVITY_MS, grace_ms=GRACE_MS))
        self.now = START
        self.counter = 0
        self.agents: dict[str, AgentModel] = {}
        self.token_versions: dict[str, str] = {}
        self.queues: dict[str, QueueModel] = {}
        self.sessions: dict[str, SessionModel] = {}
        self.visitor_conv: dict[str, str] = {}
        self.visitor_session: dict[str, str] = {}
        self.visitor_conns: dict[str, set[str]] = {v: set() for v in VISITORS}
        self.declined: dict[str, set[str]] = {}
        self.returned: set[str] = set()  # sessions put at the head of a queue: by an agent's grace or a transfer
        # replay of the lifecycle stream
        self.last_event = "0-0"
        self.replayed_state: dict[str, str] = {}
        self.ended_count: Counter[str] = Counter()
        self.known_offers: dict[str, str] = {}  # offer id -> agent
        self.snap: Snapshot | None = None

    # ------------------------------------------------------------ plumbing

    def run(self, coro: Awaitable[T]) -> T:
        return self.loop.run_until_complete(coro)

    def new_id(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}{self.counter}"

    def teardown(self) -> None:
        try:
            self.run(self.redis.aclose())
        finally:
            self.loop.close()

    def call(
        self, coro: Awaitable[T], *, refusals: set[str] = frozenset(), accepted: tuple[str, str] | None = None
    ) -> T | SwitchboardError:
        """Runs one router call; returns its result or an expected refusal; checks
        the lifecycle events it wrote (invariants 3 and 6 need the order)."""
        try:
            result: T | SwitchboardError = self.run(coro)
        except SwitchboardError as exc:
            assert exc.code.value in refusals, f"unexpected refusal {exc!r}"
            result = exc
        self.check_new_events(accepted)
        return result

    def advance(self, dt: int) -> None:
        """Moves the clock and runs every due deadline, as the sweeper would."""
        self.now += dt
        self.sweep()

    def sweep(self) -> None:
        for _ in range(50):
            due = self.run(self.router.due_deadlines(self.now))
            if not due:
                return
            for member in due:
                self.expire(member)
        raise AssertionError("deadlines keep coming due at the same instant")

    def expire(self, member: str) -> Any:
        if not member.startswith("grace:a:"):
            return self.call(self.router.expire(member, now=self.now))
        aid = member.split(":", 2)[2]
        snap = self.read()
        # Its chats go back to their queue, except a conference, which goes on with the others.
        back = {sid for sid in snap.slots[aid] if words_of(snap.sessions[sid].get("agents")) == [aid]}
        result = self.call(self.router.expire(member, now=self.now))
        if result:
            self.returned |= back  # same queue: its routing steps go on counting from when it entered
            self.check_back_at_head(back)
        return result

    def check_back_at_head(self, back: set[str]) -> None:
        """protocol.md: an agent gone longer than the grace becomes offline and "its
        active sessions go back to the head of their queue" (unless routed again at once)."""
        snap = self.read()
        for qid, entries in snap.waiting.items():
            order = [sid for sid, _ in entries]
            for i, sid in enumerate(order):
                if sid in back:
                    behind = [other for other in order[:i] if other not in back]
                    # Invariant 5 (agent grace): a session put back by the grace goes to the head of its queue.
                    assert not behind, f"{sid}, put back by an agent's grace, waits in {qid} behind {behind}: {order}"

    # ------------------------------------------------------------ reading Redis

    def read(self) -> Snapshot:
        return self.run(self._read())

    async def _read(self) -> Snapshot:
        r = self.redis
        aids = sorted(self.agents)
        sids = sorted(self.sessions)
        pipe = r.pipeline(transaction=False)
        keys = self.keys
        for aid in aids:
            pipe.hgetall(keys.agent(aid))
            pipe.smembers(keys.agent_slots(aid))
            pipe.smembers(keys.agent_offers(aid))
            pipe.smembers(keys.agent_connections(aid))
        for sid in sids:
            pipe.hgetall(keys.session(sid))
            pipe.smembers(keys.session(sid) + ":declined")  # as the Lua library spells it
        for qid in QUEUE_IDS:
            pipe.zrange(keys.queue_waiting(qid), 0, -1, withscores=True)
            pipe.zrange(keys.queue_overflow(qid), 0, -1)
        raw = await pipe.execute()
        it = iter(raw)
        agents, slots, agent_offers, conns = {}, {}, {}, {}
        for aid in aids:
            agents[aid] = {as_text(k): as_text(v) for k, v in next(it).items()}
            slots[aid] = {as_text(x) for x in next(it)}
            agent_offers[aid] = {as_text(x) for x in next(it)}
            conns[aid] = {as_text(x) for x in next(it)}
        sessions, declined = {}, {}
        for sid in sids:
            sessions[sid] = {as_text(k): as_text(v) for k, v in next(it).items()}
            declined[sid] = {as_text(x) for x in next(it)}
        waiting, overflow = {}, {}
        for qid in QUEUE_IDS:
            waiting[qid] = [(as_text(m), float(sc)) for m, sc in next(it)]
            overflow[qid] = {as_text(m) for m in next(it)}
        offers = {}
        async for key in r.scan_iter(match=f"{R}:offer:*", count=1000):  # offer hashes, as the Lua library spells them
            oid = as_text(key).rsplit(":", 1)[1]
            offers[oid] = {as_text(k): as_text(v) for k, v in (await r.hgetall(key)).items()}
        return Snapshot(agents, slots, agent_offers, conns, sessions, declined, waiting, overflow, offers)

    def new_events(self) -> list[dict[str, Any]]:
        entries = self.run(self.redis.xrange(self.keys.events, f"({self.last_event}", "+"))
        events = []
        for eid, fields in entries:
            self.last_event = as_text(eid)
            events.append(json.loads(fields[b"e"]))
        return events

    # ------------------------------------------------------------ per-call event checks (3, 6)

    def check_new_events(self, accepted: tuple[str, str] | None) -> None:
        for event in self.new_events():
            kind = event.get("type")
            if kind == "agent.state_changed":
                self.replayed_state[event["agent"]] = event["state"]
            elif kind == "session.offered":
                self.known_offers[event["offer_id"]] = event["agent"]
                if event.get("from_agent"):  # a transfer or conference to a named agent: no eligibility
                    state = self.replayed_state.get(event["agent"])
                    assert self.state_allows(event["agent"], state), (
                        f"side offer to {event['agent']} in state {state!r}"
                    )
                else:
                    self.check_routed_to(event["agent"], event["session_id"], "offered", event["ts"])
            elif kind == "session.connected":
                if accepted != (event["agent"], event["session_id"]):  # not an accepted offer: an auto-assignment
                    self.check_routed_to(event["agent"], event["session_id"], "assigned", event["ts"])
            elif kind == "session.ended":
                sid = event["session_id"]
                self.ended_count[sid] += 1
                # Invariant 6: every session ends at most once.
                assert self.ended_count[sid] == 1, f"session {sid} ended {self.ended_count[sid]} times: {event}"

    def check_routed_to(self, aid: str, sid: str, how: str, at: int) -> None:
        state = self.replayed_state.get(aid)
        # Invariant 3: only an available, connected agent receives an offer (or an auto-assignment).
        assert self.state_allows(aid, state), (
            f"session {sid} {how} to agent {aid} whose state was {state!r}, connections {sorted(self.agents[aid].conns)}"
        )
        # ... and only an agent that is eligible for that session.
        assert self.suits(aid, sid, at), (
            f"session {sid} {how} to agent {aid}, which is not eligible: agent {self.agents[aid]}, "
            f"session {self.sessions[sid]}, queue skills {self.queues[self.sessions[sid].queue].config.skills}, "
            f"declined by {sorted(self.declined.get(sid, set()))}"
        )

    # ------------------------------------------------------------ setup

    @initialize(
        queues=queue_configs(),
        profiles=st.lists(agent_st, min_size=3, max_size=4),
        ready=st.lists(st.sampled_from([True, True, False]), min_size=4, max_size=4),
        opening=st.integers(min_value=0, max_value=3),
        data=st.data(),
    )
    def setup(
        self,
        queues: dict[str, QueueConfig],
        profiles: list[dict[str, Any]],
        ready: list[bool],
        opening: int,
        data: st.DataObject,
    ) -> None:
        """Two queues, 3-4 connected agents (most of them available) and a few chats."""
        for qid, config in queues.items():
            self.queues[qid] = QueueModel(config)
            self.run(self.router.put_queue(qid, msgspec.json.encode(config)))
        for i, p in enumerate(profiles, 1):
            aid = f"a{i}"
            config = AgentConfig(
                display_name=f"Agent {i}",
                languages=p["languages"],
                skills=p["skills"],
                queues=p["queues"],
                capacity=p["capacity"],
                proficiency=p["proficiency"],
            )
            self.agents[aid] = AgentModel(p["languages"], p["skills"], p["queues"], p["capacity"], p["proficiency"])
            assert self.run(self.router.put_agent(aid, msgspec.json.encode(config)))
            # The agent token carries the agent's token version (a fresh one per created agent).
            self.token_versions[aid] = as_text(self.run(self.redis.hget(self.keys.agent(aid), "token_version")))
        for aid, a in self.agents.items():
            conn = self.new_id("k")
            a.conns.add(conn)
            self.call(self.router.connect("a", aid, conn, self.token_versions[aid], now=self.now))
        snap = self.read()
        for aid in self.agents:
            assert snap.agents[aid]["state"] == "not_ready", "a newly connected agent is not_ready"
            self.replayed_state[aid] = snap.agents[aid]["state"]
        for aid, go in zip(sorted(self.agents), ready, strict=False):
            if go:
                self.call(self.router.set_state(aid, "available", now=self.now))
        for _ in range(opening):
            self.start_chat(
                data,
                False,
                data.draw(st.sampled_from(QUEUE_IDS), label="queue"),
                data.draw(st.sampled_from([[], ["billing"]]), label="skills"),
                "webchat",
            )
        self.snap = self.read()

    # ------------------------------------------------------------ agent rules

    def connected_agents(self) -> list[str]:
        return sorted(aid for aid, a in self.agents.items() if a.conns)

    def pick(self, data: st.DataObject, items: list[T], label: str) -> T:
        return data.draw(st.sampled_from(items), label=label)

    @precondition(lambda self: any(a.conns for a in self.agents.values()))
    @rule(data=st.data(), state=st.sampled_from(["available", "not_ready", "offline"]))
    def set_state(self, data: st.DataObject, state: str) -> None:
        aid = self.pick(data, self.connected_agents(), "agent")
        self.advance(1)
        result = self.call(self.router.set_state(aid, state, now=self.now))
        assert result["state"] == state

    @precondition(lambda self: any(a.conns for a in self.agents.values()))
    @rule(data=st.data())
    def go_available(self, data: st.DataObject) -> None:
        """The most common state change, so it gets a rule of its own (more weight)."""
        self.set_state(data, "available")

    @precondition(lambda self: self.snap is not None and self.snap.pending_offers())
    @rule(data=st.data())
    def accept(self, data: st.DataObject) -> None:
        aid, oid = self.pick(data, self.snap.pending_offers(), "offer")
        sid = self.snap.offers[oid]["session"]
        kind = self.snap.offers[oid].get("kind")
        self.advance(1)
        if oid not in self.read().agent_offers[aid]:  # rang out while the clock moved
            return
        before = self.read().sessions[sid]
        result = self.call(self.router.accept(aid, oid, now=self.now), accepted=(aid, sid))
        assert result["session_id"] == sid
        status = self.read().sessions[sid]
        if kind == "conference":
            assert status["status"] == "conference" and words_of(status["agents"]) == [
                *words_of(before["agents"]),
                aid,
            ], status
        else:  # a new session, or a transfer: the accepting agent alone holds it
            assert status["status"] == "active" and words_of(status["agents"]) == [aid], status

    @precondition(lambda self: self.snap is not None and self.snap.pending_offers())
    @rule(data=st.data())
    def accept_again(self, data: st.DataObject) -> None:
        """Accepting is what agents mostly do: a second rule gives it more weight."""
        self.accept(data)

    @precondition(lambda self: self.snap is not None and self.snap.pending_offers())
    @rule(data=st.data())
    def decline(self, data: st.DataObject) -> None:
        aid, oid = self.pick(data, self.snap.pending_offers(), "offer")
        sid = self.snap.offers[oid]["session"]
        side = "sender" in self.snap.offers[oid]
        self.advance(1)
        if oid not in self.read().agent_offers[aid]:
            return
        if not side:  # declining a transfer or conference says nothing about routing
            self.declined.setdefault(sid, set()).add(aid)
        before = self.read().sessions[sid]
        self.call(self.router.decline(aid, oid, now=self.now))
        if side:
            after = self.read().sessions[sid]
            assert words_of(after["agents"]) == words_of(before["agents"]), "a declined transfer stays with its sender"

    @precondition(lambda self: bool(self.known_offers))
    @rule(data=st.data(), verb=st.sampled_from(["accept", "decline"]))
    def answer_unknown_offer(self, data: st.DataObject, verb: str) -> None:
        """Answering an offer that is gone, or that belongs to someone else, is refused."""
        oid = self.pick(data, sorted(self.known_offers), "offer")
        aid = self.pick(data, sorted(self.agents), "agent")
        before = self.read()
        if oid in before.agent_offers[aid]:
            return  # a live offer: covered by accept/decline
        result = self.call(getattr(self.router, verb)(aid, oid, now=self.now), refusals={"not_found"})
        assert isinstance(result, SwitchboardError), f"{verb} of {oid} by {aid} was not refused"
        after = self.read()
        assert (after.sessions, after.offers, after.slots) == (before.sessions, before.offers, before.slots)

    @precondition(lambda self: self.snap is not None and self.snap.pending_offers())
    @rule(data=st.data())
    def let_offer_ring_out(self, data: st.DataObject) -> None:
        aid, oid = self.pick(data, self.snap.pending_offers(), "offer")
        expires_at = int(self.snap.offers[oid]["expires_at"])
        sid = self.snap.offers[oid]["session"]
        if expires_at - 1 > self.now:
            self.advance(expires_at - 1 - self.now)  # whatever is due earlier happens first
        self.now = max(self.now, expires_at)
        fired = self.expire(f"offer:{oid}")
        if fired:  # (False if something else took the offer away first, e.g. the customer left)
            snap = self.read()
            assert snap.agents[aid]["state"] == "rona", f"{aid} is {snap.agents[aid]['state']} after its offer rang out"
            assert oid not in snap.offers and oid not in snap.agent_offers[aid]
            s = snap.sessions[sid]
            if s["status"] == "offered":
                assert snap.offers[s["offer"]]["agent"] != aid, "re-offered to the agent that let it ring out"
        self.sweep()

    def active_pairs(self, snap: Snapshot, field_name: str) -> list[tuple[str, str]]:
        return sorted(
            (aid, sid)
            for aid in self.connected_agents()
            for sid in snap.slots[aid]
            if aid in words_of(snap.sessions.get(sid, {}).get(field_name))
        )

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "agents"))
    @rule(data=st.data())
    def agent_ends_session(self, data: st.DataObject) -> None:
        aid, sid = self.pick(data, self.active_pairs(self.snap, "agents"), "session")
        self.advance(1)
        if (aid, sid) not in self.active_pairs(self.read(), "agents"):
            return
        result = self.call(self.router.end_session(aid, self.sessions[sid].cid, now=self.now))
        assert result["session_id"] == sid and result["reason"] == "agent_ended"
        s = self.read().sessions[sid]
        assert s["status"] == "wrap_up" and aid in words_of(s["wrapping"]), s

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "wrapping"))
    @rule(data=st.data())
    def wrap_up(self, data: st.DataObject) -> None:
        aid, sid = self.pick(data, self.active_pairs(self.snap, "wrapping"), "session")
        self.advance(1)
        if (aid, sid) not in self.active_pairs(self.read(), "wrapping"):
            return
        codes = [c.code for c in self.queues[self.sessions[sid].queue].config.wrap_up_codes]
        code = self.pick(data, codes, "code")
        # wrap_up names a conversation; of two sessions of it in wrap-up, the older is closed first
        snap = self.read()
        cid = self.sessions[sid].cid
        pending = [
            (int(snap.sessions[x]["ended_at"]), x)
            for a, x in self.active_pairs(snap, "wrapping")
            if a == aid and self.sessions[x].cid == cid
        ]
        oldest = {x for at, x in pending if at == min(pending)[0]}
        result = self.call(self.router.wrap_up(aid, cid, code, now=self.now))
        assert result["session_id"] in oldest and result["code"] == code, (result, pending)
        snap = self.read()
        assert result["session_id"] not in snap.slots[aid], "wrap_up did not free the slot"

    # ------------------------------------------------------------ transfers and conferences

    def side_refusal(self, snap: Snapshot, sid: str, sender: str, target: str, kind: str) -> str | None:
        """The refusal the contract's rules call for, from this test's view (None: allowed)."""
        s = snap.sessions[sid]
        agents = words_of(s.get("agents"))
        if kind == "conference" and s.get("owner") != sender:
            return "forbidden"
        if kind == "transfer" and s["status"] == "conference":
            return "conflict"
        if target == sender:
            return "bad_request"
        if target in agents or s.get("side_offer"):
            return "conflict"
        if not self.state_allows(target, snap.agents[target].get("state")) or not self.has_free_slot(target, snap):
            return "conflict"
        return None

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "agents"))
    @rule(data=st.data(), kind=st.sampled_from(["transfer", "conference"]))
    def offer_to_an_agent(self, data: st.DataObject, kind: str) -> None:
        """A warm transfer, or a conference invitation, to a named agent."""
        aid, sid = self.pick(data, self.active_pairs(self.snap, "agents"), "sender and session")
        # Mostly an agent that can take it (the interesting case), sometimes anyone.
        free = [
            t
            for t in sorted(self.agents)
            if t != aid and self.state_allows(t, self.snap.agents[t].get("state")) and self.has_free_slot(t, self.snap)
        ]
        anyone = data.draw(st.sampled_from([False, False, True]), label="any target")
        target = self.pick(data, sorted(self.agents) if anyone or not free else free, "target")
        self.advance(1)
        snap = self.read()
        if (aid, sid) not in self.active_pairs(snap, "agents"):
            return
        expected = self.side_refusal(snap, sid, aid, target, kind)
        cid = self.sessions[sid].cid
        call = (
            self.router.transfer(aid, cid, agent=target, now=self.now)
            if kind == "transfer"
            else self.router.conference(aid, cid, target, now=self.now)
        )
        result = self.call(call, refusals={expected} if expected else set())
        if expected:
            assert isinstance(result, SwitchboardError), f"{kind} of {sid} from {aid} to {target} was not refused"
            return
        after = self.read()
        assert after.offers[result["offer_id"]]["agent"] == target
        assert words_of(after.sessions[sid]["agents"]) == words_of(snap.sessions[sid]["agents"]), (
            "it stays with its sender"
        )

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "agents"))
    @rule(data=st.data(), kind=st.sampled_from(["transfer", "conference"]))
    def offer_to_an_agent_again(self, data: st.DataObject, kind: str) -> None:
        """A second rule gives transfers and conferences more weight."""
        self.offer_to_an_agent(data, kind)

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "agents"))
    @rule(data=st.data(), qid=st.sampled_from(QUEUE_IDS))
    def transfer_to_queue(self, data: st.DataObject, qid: str) -> None:
        """A cold transfer: the agent leaves at once, the session waits at the head of the queue."""
        aid, sid = self.pick(data, self.active_pairs(self.snap, "agents"), "sender and session")
        self.advance(1)
        snap = self.read()
        if (aid, sid) not in self.active_pairs(snap, "agents"):
            return
        s = snap.sessions[sid]
        served = self.queues[qid].config.languages
        refused = s["status"] == "conference" or bool(s.get("side_offer")) or (served and s["language"] not in served)
        model = self.sessions[sid]
        old = (model.queue, model.entered_at, model.overflow_at, set(self.declined.get(sid, set())))
        # the model first: the events of the call refer to the new queue
        model.queue, model.entered_at, model.overflow_at = qid, self.now, self.overflow_moment(qid, self.now)
        self.declined[sid] = {aid}  # the sender is not offered it again
        result = self.call(
            self.router.transfer(aid, model.cid, queue=qid, now=self.now), refusals={"conflict"} if refused else set()
        )
        if refused:
            assert isinstance(result, SwitchboardError), f"transfer of {sid} to {qid} was not refused"
            model.queue, model.entered_at, model.overflow_at, self.declined[sid] = old
            return
        self.returned.add(sid)
        after = self.read()
        assert aid not in words_of(after.sessions[sid]["agents"]) and sid not in after.slots[aid], (
            "the sender left at once"
        )
        self.check_back_at_head({sid})

    def conference_guests(self, snap: Snapshot) -> list[tuple[str, str]]:
        return sorted(
            (aid, sid)
            for sid, s in snap.sessions.items()
            if s["status"] == "conference"
            for aid in words_of(s.get("agents"))
            if aid != s.get("owner")
        )

    @precondition(lambda self: self.snap is not None and self.conference_guests(self.snap))
    @rule(data=st.data(), everyone=st.booleans())
    def conference_ends(self, data: st.DataObject, everyone: bool) -> None:
        """A guest leaves, or the owner ends the conference; the owner stays."""
        guest, sid = self.pick(data, self.conference_guests(self.snap), "guest")
        self.advance(1)
        snap = self.read()
        if (guest, sid) not in self.conference_guests(snap):
            return
        owner = snap.sessions[sid]["owner"]
        cid = self.sessions[sid].cid
        if everyone:
            self.call(self.router.end_conference(owner, cid, now=self.now))
            assert words_of(self.read().sessions[sid]["agents"]) == [owner]
        else:
            refusal = self.call(self.router.leave(owner, cid, now=self.now), refusals={"conflict"})
            assert isinstance(refusal, SwitchboardError), "the owner cannot leave its own conference"
            self.call(self.router.leave(guest, cid, now=self.now))
            after = self.read()
            assert guest not in words_of(after.sessions[sid]["agents"]) and sid not in after.slots[guest]

    @precondition(lambda self: not all(a.conns for a in self.agents.values()))
    @rule(data=st.data())
    def agent_connects(self, data: st.DataObject) -> None:
        """A (re)connection; sometimes another tab of an agent already connected."""
        aid = self.pick(data, sorted(self.agents), "agent")
        self.advance(1)
        was_connected = bool(self.agents[aid].conns)
        in_grace = self.run(self.redis.zscore(self.keys.deadlines, f"grace:a:{aid}")) is not None
        before = self.read().agents[aid]["state"]
        conn = self.new_id("k")
        self.agents[aid].conns.add(conn)
        result = self.call(self.router.connect("a", aid, conn, self.token_versions[aid], now=self.now))
        if not was_connected and not in_grace:
            assert result["state"]["state"] == "not_ready", f"a newly connected agent must be not_ready: {result}"
        else:
            assert result["state"]["state"] == before, f"{aid} was {before!r}, reconnected as {result['state']}"

    @precondition(lambda self: any(a.conns for a in self.agents.values()))
    @rule(data=st.data())
    def agent_disconnects(self, data: st.DataObject) -> None:
        aid = self.pick(data, self.connected_agents(), "agent")
        conn = self.pick(data, sorted(self.agents[aid].conns), "connection")
        self.advance(1)
        self.agents[aid].conns.discard(conn)
        self.call(self.router.disconnect("a", aid, conn, now=self.now))
        if not self.agents[aid].conns:
            assert not self.read().agent_offers[aid], "a disconnected agent keeps pending offers"

    @precondition(lambda self: self.snap is not None and self.active_pairs(self.snap, "agents"))
    @rule(data=st.data(), extra=st.integers(min_value=0, max_value=3_000))
    def agent_walks_away(self, data: st.DataObject, extra: int) -> None:
        """An agent in a chat loses every connection and stays away past the grace:
        it becomes offline and its chats go back to the head of their queues."""
        aid, _sid = self.pick(data, self.active_pairs(self.snap, "agents"), "agent in a chat")
        self.advance(1)
        for conn in sorted(self.agents[aid].conns):
            self.agents[aid].conns.discard(conn)
            self.call(self.router.disconnect("a", aid, conn, now=self.now))
        self.advance(GRACE_MS + extra)
        assert self.read().agents[aid]["state"] == "offline", "an agent gone past the grace is offline"

    # ------------------------------------------------------------ customer rules

    def visitor_open(self, vid: str) -> bool:
        sid = self.visitor_session.get(vid)
        return sid is not None and self.ended_count[sid] == 0

    def ensure_visitor_connected(self, vid: str) -> None:
        if not self.visitor_conns[vid]:
            conn = self.new_id("w")
            self.visitor_conns[vid].add(conn)
            self.call(self.router.connect("v", vid, conn, now=self.now))

    @rule(
        data=st.data(),
        anyone=st.sampled_from([False, False, False, True]),
        qid=st.sampled_from(QUEUE_IDS),
        skills=st.sampled_from([[], [], ["billing"], ["vip"]]),
        channel=st.sampled_from(["webchat", "webchat", "messaging"]),
    )
    def start_chat(self, data: st.DataObject, anyone: bool, qid: str, skills: list[str], channel: str) -> None:
        """Mostly a visitor without an open chat; sometimes anyone (refused with `conflict` if open)."""
        idle = [v for v in VISITORS if not self.visitor_open(v)]
        vid = self.pick(data, VISITORS if anyone or not idle else idle, "visitor")
        served = list(self.queues[qid].config.languages or LANGS)
        language = (
            "en"
            if "en" in served and data.draw(st.booleans(), label="english")
            else self.pick(data, served, "language")
        )
        chat_priority = self.pick(data, [0, 0, 2, 3, 4], "chat priority")
        self.advance(1)
        self.ensure_visitor_connected(vid)
        cid, sid = self.new_id("c"), self.new_id("s")
        is_open = self.visitor_open(vid)
        config = self.queues[qid].config
        too_high = chat_priority > config.max_chat_priority
        priority = config.priority + chat_priority
        model = SessionModel(
            sid,
            cid,
            vid,
            qid,
            language,
            skills,
            self.now,
            entry_score(config, priority, self.now),
            priority=priority,
            chat_priority=chat_priority,
            overflow_at=self.overflow_moment(qid, self.now),
        )
        self.sessions[sid] = model  # known before the call: the events of the call refer to it
        result = self.call(
            self.router.start_chat(
                visitor_id=vid,
                conversation_id=cid,
                session_id=sid,
                queue=qid,
                language=language,
                skills=skills,
                channel=channel,
                customer={"name": vid},
                text="hi",
                priority=chat_priority,
                now=self.now,
            ),
            refusals={"conflict", "bad_request"},
        )
        if isinstance(result, SwitchboardError):
            expected = "conflict" if is_open else "bad_request" if too_high else None
            assert result.code.value == expected, f"start_chat refused with {result!r}, expected {expected}"
            del self.sessions[sid]
            return
        assert not too_high, f"start_chat accepted priority {chat_priority} above {config.max_chat_priority}"
        assert not is_open, f"{vid} could open a second chat while {self.visitor_session[vid]} is open"
        self.visitor_conv[vid], self.visitor_session[vid] = cid, sid

    @precondition(lambda self: bool(self.visitor_conv))
    @rule(data=st.data())
    def customer_writes(self, data: st.DataObject) -> None:
        """A message; into an ended conversation it opens a new session (as the gateway does)."""
        vid = self.pick(data, sorted(self.visitor_conv), "visitor")
        cid = self.visitor_conv[vid]
        self.advance(1)
        self.ensure_visitor_connected(vid)
        try:
            self.run(self.router.post_message(cid, "customer", vid, vid, "more", now=self.now))
            assert self.visitor_open(vid), f"{vid} wrote into its ended session"
            return
        except ConversationEnded:
            assert not self.visitor_open(vid), f"{vid}'s open session refused a message as ended"
        old = self.sessions[self.visitor_session[vid]]
        sid = self.new_id("s")
        q = self.queues[old.queue].config
        # a new session of the conversation keeps the chat's own priority
        priority = q.priority + old.chat_priority
        self.sessions[sid] = SessionModel(
            sid,
            cid,
            vid,
            old.queue,
            old.language,
            old.skills,
            self.now,
            entry_score(q, priority, self.now),
            priority=priority,
            chat_priority=old.chat_priority,
            overflow_at=self.overflow_moment(old.queue, self.now),
        )
        self.call(
            self.router.start_chat(
                visitor_id=vid, conversation_id=cid, session_id=sid, text="more", mode="reopen", now=self.now
            )
        )
        self.visitor_session[vid] = sid

    @precondition(lambda self: bool(self.visitor_conv))
    @rule(data=st.data(), anyone=st.sampled_from([False, False, True]))
    def customer_ends_chat(self, data: st.DataObject, anyone: bool) -> None:
        """Mostly a visitor with an open chat; sometimes anyone (refused without one)."""
        open_ones = [v for v in VISITORS if self.visitor_open(v)]
        vid = self.pick(data, sorted(self.visitor_conv) if anyone or not open_ones else open_ones, "visitor")
        self.advance(1)
        is_open = self.visitor_open(vid)
        result = self.call(self.router.end_chat(vid, now=self.now), refusals={"conflict"})
        if isinstance(result, SwitchboardError):
            assert not is_open, f"end_chat refused although {vid} has an open chat: {result!r}"
        else:
            assert is_open and result["session_id"] == self.visitor_session[vid]
            assert result["reason"] in {"customer_abandoned", "customer_ended"}

    @precondition(lambda self: bool(self.visitor_conv))
    @rule(vid=st.sampled_from(VISITORS))
    def customer_comes_or_goes(self, vid: str) -> None:
        self.advance(1)
        conns = self.visitor_conns[vid]
        if conns:
            conn = min(conns)
            conns.discard(conn)
            self.call(self.router.disconnect("v", vid, conn, now=self.now))
        else:
            self.ensure_visitor_connected(vid)

    # ------------------------------------------------------------ time

    @rule(dt=st.one_of(st.integers(min_value=1, max_value=6_000), st.integers(min_value=6_000, max_value=70_000)))
    def time_passes(self, dt: int) -> None:
        self.advance(dt)

    # ------------------------------------------------------------ invariants

    @invariant()
    def invariants_hold(self) -> None:
        if not self.agents:
            return
        snap = self.read()
        self.snap = snap
        self.check_bookkeeping(snap)
        self.check_capacity(snap)
        self.check_single_offer(snap)
        self.check_offer_states(snap)
        self.check_nobody_idle(snap)
        self.check_queue_order(snap)
        self.check_ended_once(snap)
        self.check_max_wait(snap)
        self.check_conversation_sides()


# ---------------------------------------------------------------- the test


@pytest.mark.timeout(max(120, EXAMPLES * STEPS // 10))  # a longer hunt gets a longer budget
def test_router_keeps_its_invariants(redis_url: str) -> None:
    run_state_machine_as_test(
        lambda: RouterMachine(redis_url),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
