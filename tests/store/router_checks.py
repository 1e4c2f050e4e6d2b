"""The eligibility oracle and the invariants of the stateful property test
(tests/store/test_router_properties.py), as a mixin of its state machine: each reads the
machine's model (agents, queues, sessions, what it declined and saw) and a Snapshot of Redis."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from fractions import Fraction
from typing import Any, TypeVar

from router_model import (
    ENDED_STATUSES,
    AgentModel,
    QueueModel,
    SessionModel,
    Snapshot,
    effective_priority,
    words_of,
)

from switchboard.store.keys import Keys

T = TypeVar("T")


class RouterChecks:
    """What the machine holds and these checks read (the machine sets it)."""

    agents: dict[str, AgentModel]
    queues: dict[str, QueueModel]
    sessions: dict[str, SessionModel]
    declined: dict[str, set[str]]
    replayed_state: dict[str, str]
    returned: set[str]
    now: int
    redis: Any
    keys: Keys
    visitor_conv: dict[str, str]
    ended_count: Counter[str]
    known_offers: dict[str, str]

    def run(self, coro: Awaitable[T]) -> T:
        raise NotImplementedError

    # ------------------------------------------------------------ eligibility oracle (from the contract)

    def eligible(self, aid: str, sid: str, snap: Snapshot) -> bool:
        """protocol.md, Routing rules: available, member of the session's queue,
        speaks its language, has every required skill (the queue's plus the
        session's), has a free slot (active sessions, wrap-ups and pending offers
        count), has not declined it. Only connected agents can be offered anything."""
        return (
            self.state_allows(aid, snap.agents[aid].get("state"))
            and self.suits(aid, sid, self.now)
            and self.has_free_slot(aid, snap)
        )

    def state_allows(self, aid: str, state: str | None) -> bool:
        return state == "available" and bool(self.agents[aid].conns)

    def targeting(self, sid: str, at: int) -> tuple[set[str], set[str] | None, dict[str, int]]:
        """Required skills, acceptable languages (None: any) and minimum levels of a
        session at time `at`: the queue's skills plus the session's, the session's
        language and the queue's `min_proficiency`, until the session has waited a
        routing step's `after_s`; then what that step names replaces them (an empty
        list requires nothing)."""
        s = self.sessions[sid]
        q = self.queues[s.queue].config
        skills, languages, minimums = set(q.skills) | set(s.skills), {s.language}, q.min_proficiency
        for step in q.steps:
            if at - s.entered_at >= step.after_s * 1000:
                if step.skills is not None:
                    skills = set(step.skills)
                if step.languages is not None:
                    languages = set(step.languages)
                if step.min_proficiency is not None:
                    minimums = step.min_proficiency
        return skills, (languages or None), minimums

    def suits(self, aid: str, sid: str, at: int) -> bool:
        a, s = self.agents[aid], self.sessions[sid]
        skills, languages, minimums = self.targeting(sid, at)
        return (
            (s.queue in a.queues or self.overflowed_to(sid, a, at))
            and (languages is None or bool(languages & set(a.languages)))
            and skills <= set(a.skills)
            and all(a.level(x) >= minimums.get(x, 1) for x in skills)
            and aid not in self.declined.get(sid, set())
        )

    def overflowed_to(self, sid: str, a: AgentModel, at: int) -> bool:
        """protocol.md, overflow: once a chat overflowed, the agents of its queue's
        `overflow_to` may take it too."""
        s = self.sessions[sid]
        targets = set(self.queues[s.queue].config.overflow_to) - {s.queue}
        return s.overflow_at is not None and at >= s.overflow_at and bool(targets & set(a.queues))

    def overflow_moment(self, qid: str, entered_at: int) -> int | None:
        """When a chat entering `qid` at `entered_at` overflows: at once when no agent of
        the queue is signed in (connected, not offline), else after `overflow_after_s`."""
        q = self.queues[qid].config
        if not q.overflow_to:
            return None
        signed_in = [
            aid
            for aid, a in self.agents.items()
            if qid in a.queues and a.conns and self.replayed_state[aid] != "offline"
        ]
        if not signed_in:
            return entered_at
        return None if q.overflow_after_s is None else entered_at + int(q.overflow_after_s * 1000)

    def has_free_slot(self, aid: str, snap: Snapshot) -> bool:
        return len(snap.slots[aid]) + len(snap.agent_offers[aid]) < self.agents[aid].capacity

    def check_bookkeeping(self, snap: Snapshot) -> None:
        """The stored state agrees with itself and with what this test did."""
        for aid, a in self.agents.items():
            assert snap.conns[aid] == a.conns, f"{aid}: stored connections {snap.conns[aid]} != {a.conns}"
            assert int(snap.agents[aid]["capacity"]) == a.capacity
            assert self.replayed_state[aid] == snap.agents[aid]["state"], (
                f"{aid}: the lifecycle stream says {self.replayed_state[aid]!r}, the agent hash {snap.agents[aid]['state']!r}"
            )
        for sid, s in snap.sessions.items():
            assert s, f"session {sid} is not stored"
            assert snap.declined[sid] == self.declined.get(sid, set()), f"{sid}: declined {snap.declined[sid]}"
            in_queues = [qid for qid, entries in snap.waiting.items() if sid in dict(entries)]
            # A session waits in exactly one queue (its own), and only while its status is waiting.
            if s["status"] == "waiting":
                assert in_queues == [s["queue"]], f"waiting session {sid} is in queues {in_queues}"
            else:
                assert in_queues == [], f"session {sid} ({s['status']}) still listed in {in_queues}"
            # An overflowed waiting session is listed for the queues it overflowed to, and only then.
            m = self.sessions[sid]
            overflowed = s["status"] == "waiting" and m.overflow_at is not None and self.now >= m.overflow_at
            targets = set(self.queues[m.queue].config.overflow_to) - {m.queue} if overflowed else set()
            listed = {qid for qid, sids in snap.overflow.items() if sid in sids}
            assert listed == targets, f"session {sid} ({s['status']}, {m}) is listed for overflow in {listed}"

    def check_capacity(self, snap: Snapshot) -> None:
        # Invariant 1: active sessions, wrap-ups and pending offers never exceed the capacity.
        for aid, a in self.agents.items():
            load = len(snap.slots[aid]) + len(snap.agent_offers[aid])
            assert load <= a.capacity, (
                f"agent {aid} over capacity {a.capacity}: slots {sorted(snap.slots[aid])}, offers {sorted(snap.agent_offers[aid])}"
            )
        # ... and the slots count exactly the sessions the agent is in or wrapping up.
        for aid in self.agents:
            held = {
                sid
                for sid, s in snap.sessions.items()
                if aid in words_of(s.get("agents")) or aid in words_of(s.get("wrapping"))
            }
            assert snap.slots[aid] == held, f"agent {aid}: slots {sorted(snap.slots[aid])} but holds {sorted(held)}"
        for sid, s in snap.sessions.items():
            agents = words_of(s.get("agents"))
            if agents:
                # several agents in a session make a conference; one makes it active
                expected = "conference" if len(agents) > 1 else "active"
                assert s["status"] == expected, f"session {sid} has agents {agents} but is {s['status']}"
                assert len(set(agents)) == len(agents), f"session {sid} lists an agent twice: {agents}"
                assert s.get("owner") in agents, f"session {sid}: owner {s.get('owner')!r} not among {agents}"
            if words_of(s.get("wrapping")):
                assert s["status"] == "wrap_up", f"session {sid} has agents wrapping up but is {s['status']}"

    def check_single_offer(self, snap: Snapshot) -> None:
        # Invariant 2: no session offered to two agents at once.
        by_session = Counter(o["session"] for o in snap.offers.values())
        twice = [sid for sid, n in by_session.items() if n > 1]
        assert not twice, f"sessions offered more than once: {twice}: {snap.offers}"
        listed = {oid for oids in snap.agent_offers.values() for oid in oids}
        assert listed == set(snap.offers), f"agents' offer sets {sorted(listed)} != stored offers {sorted(snap.offers)}"
        for oid, o in snap.offers.items():
            assert oid in snap.agent_offers[o["agent"]], f"offer {oid} is not in {o['agent']}'s offers"
            s = snap.sessions[o["session"]]
            if "sender" in o:
                # a side offer: the session stays with its sender, who is in it; the target is not
                assert s["status"] in ("active", "conference") and s.get("side_offer") == oid, (
                    f"side offer {oid} for session {o['session']} which is {s}"
                )
                assert o["sender"] in words_of(s["agents"]) and o["agent"] not in words_of(s["agents"]), (o, s)
            else:
                assert s["status"] == "offered" and s["offer"] == oid, (
                    f"offer {oid} for session {o['session']} which is {s}"
                )
        for sid, s in snap.sessions.items():
            if s.get("side_offer"):
                assert s["side_offer"] in snap.offers, (
                    f"session {sid} points at side offer {s['side_offer']} that is gone"
                )
        for sid, s in snap.sessions.items():
            if s["status"] == "offered":
                assert s["offer"] in snap.offers and snap.offers[s["offer"]]["session"] == sid, (
                    f"session {sid} is offered with offer {s['offer']!r} that does not exist or is not its own"
                )

    def check_offer_states(self, snap: Snapshot) -> None:
        # Invariant 3 is checked at the moment of each offer by the per-call replay of
        # the lifecycle stream (check_new_events). Here, the stored result: every pending
        # offer was announced, is for an eligible agent, and that agent is still
        # connected (a disconnect revokes its offers at once).
        for oid, o in snap.offers.items():
            assert self.known_offers.get(oid) == o["agent"], f"offer {oid} without its session.offered event"
            assert o["agent"] in self.agents
            assert "sender" in o or self.suits(o["agent"], o["session"], int(o["offered_at"])), (
                f"offer {oid} to an ineligible agent"
            )
            assert self.agents[o["agent"]].conns, f"offer {oid} pending for {o['agent']}, who is not connected"

    def check_nobody_idle(self, snap: Snapshot) -> None:
        # Invariant 4: no session left waiting while an eligible agent is free.
        for qid, entries in snap.waiting.items():
            for sid, _score in entries:
                free = [aid for aid in sorted(self.agents) if self.eligible(aid, sid, snap)]
                assert not free, (
                    f"session {sid} waits in {qid} while eligible agents {free} are free: "
                    f"session {self.sessions[sid]}, agents {[(aid, self.agents[aid], snap.agents[aid].get('state'), sorted(snap.slots[aid]), sorted(snap.agent_offers[aid])) for aid in free]}"
                )

    def check_queue_order(self, snap: Snapshot) -> None:
        # Invariant 5: each queue is ordered by (-priority, time entered); a session put
        # back after decline, RONA or a revoked offer keeps its place (its score). Those
        # an agent's grace put back went to the head (checked at that moment, in
        # check_back_at_head) and are exempt from the entry-time order afterwards.
        for qid, entries in snap.waiting.items():
            for sid, score in entries:
                m = self.sessions[sid]
                assert m.queue == qid
                stored = float(snap.sessions[sid]["score"])
                assert stored == score, f"{sid}: hash score {stored} != queue score {score}"
                if sid not in self.returned:
                    assert score == m.score, f"{sid} lost its place: score {score}, entered with {m.score}"
            order = [sid for sid, _ in entries]
            for i, a in enumerate(order):
                if a in self.returned:
                    continue
                for b in order[i + 1 :]:
                    if b in self.returned:
                        continue  # its place is the head it was put at, checked when it was put there
                    ka, kb = self.queue_key(a), self.queue_key(b)
                    # effective priority first, then arrival; with aging, equal effective
                    # priorities have equal scores, which Redis orders by session id
                    tie = ka[0] == kb[0] and self.queues[qid].config.priority_aging_per_min > 0
                    assert ka <= kb or tie, (
                        f"queue {qid} out of order: {a} (-priority, entered: {ka}) ahead of {b} ({kb}): {order}"
                    )

    def queue_key(self, sid: str) -> tuple[Fraction, int]:
        """protocol.md: effective priority first (higher first), then arrival."""
        m = self.sessions[sid]
        return -effective_priority(self.queues[m.queue].config, m.priority, m.queued_at, self.now), m.queued_at

    def check_ended_once(self, snap: Snapshot) -> None:
        # Invariant 6: a session ends at most once (exactly once once it is in wrap-up
        # or closed) and an ended session never goes back to waiting, offered or active.
        for sid, s in snap.sessions.items():
            n = self.ended_count[sid]
            assert n <= 1, f"session {sid} ended {n} times"
            if s["status"] in ENDED_STATUSES:
                assert n == 1, f"session {sid} is {s['status']} with {n} session.ended events"
            else:
                assert n == 0, f"session {sid} ended but is {s['status']} again"
            if n:
                assert s.get("end_reason"), f"ended session {sid} has no end_reason"
                assert not words_of(s.get("agents")), f"ended session {sid} still has agents {s['agents']}"

    def check_conversation_sides(self) -> None:
        """After every step both of its steps ran: no conversation op is left in an
        outbox, the message side's replica agrees with the routing record, and the
        history holds seqs 1..seq, each once."""
        k = self.keys
        cids = sorted(set(self.visitor_conv.values()))
        fields = ("visitor", "open", "agents", "monitors")
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.exists(k.root + ":outbox:" + cid)
            pipe.zscore(k.deadlines, "outbox:" + cid)
            pipe.hmget(k.conversation_record(cid), *fields)
            pipe.hmget(k.conversation(cid), *fields, "seq")
            pipe.xlen(k.history(cid))
            pipe.xrevrange(k.history(cid), count=1)
        rows = self.run(pipe.execute())
        for i, cid in enumerate(cids):
            outbox, deadline, record, replica, length, last = rows[6 * i : 6 * i + 6]
            assert outbox == 0 and deadline is None, f"{cid}: conversation ops left unapplied"
            assert record == replica[:4], f"{cid}: record {record} != replica {replica[:4]}"
            assert length == int(replica[4]) and last[0][0] == f"{length}-0".encode(), (
                f"{cid}: history {length}, {last}"
            )

    def check_max_wait(self, snap: Snapshot) -> None:
        # protocol.md: "A queue's max_wait_s ends a session still waiting after that long
        # with reason queue_timeout" (still waiting: never connected to an agent).
        for sid, s in snap.sessions.items():
            max_wait = self.queues[self.sessions[sid].queue].config.max_wait_s
            if max_wait is None or s["status"] not in ("waiting", "offered") or s.get("connected_at"):
                continue
            waited = self.now - self.sessions[sid].queued_at
            assert waited < max_wait * 1000, (
                f"session {sid} still {s['status']} after {waited} ms (max_wait_s {max_wait})"
            )
