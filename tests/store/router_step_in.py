"""Rules of the routing property test for a supervisor stepping in: `reassign` takes a
live session from its agents and gives it to another agent at once, or puts it back
in a queue keeping its place in time (scored and stepped from when its customer first
queued). A mixin of RouterMachine (test_router_properties.py); the invariants it
checks after every step hold with these rules too. Barge-in and whispers touch no
routing state (no slot, no offer), so they have no rule here."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from router_model import QUEUE_IDS, entry_score, words_of

from switchboard.domain.config import AgentConfig
from switchboard.domain.errors import SwitchboardError
from switchboard.domain.states import Role

SUPERVISOR = "sup"


def has_live_session(machine: Any) -> bool:
    return machine.snap is not None and bool(machine.active_pairs(machine.snap, "agents"))


class StepInRules:
    """Needs RouterMachine's model and plumbing (agents, sessions, call, read, pick, ...)."""

    supervisor_created = False

    def live_session(self, data: st.DataObject) -> str | None:
        """A session with an agent, picked from the last snapshot, if it is still live now."""
        _aid, sid = self.pick(data, self.active_pairs(self.snap, "agents"), "session")
        if not self.supervisor_created:
            # a supervisor of every queue, never signed in: never routed to, never counted as staffing one
            config = AgentConfig(display_name="Sue", languages=["en"], queues=list(QUEUE_IDS), role=Role.SUPERVISOR)
            assert self.run(self.router.put_agent(SUPERVISOR, msgspec.json.encode(config)))
            self.supervisor_created = True
        self.advance(1)
        status = self.read().sessions[sid]["status"]
        return sid if status in ("active", "conference") else None

    @precondition(has_live_session)
    @rule(data=st.data())
    def supervisor_reassigns_to_an_agent(self, data: st.DataObject) -> None:
        """Assigned at once: the target must be available, connected, with a free slot."""
        sid = self.live_session(data)
        if sid is None:
            return
        target = self.pick(data, sorted(self.agents), "target")
        snap = self.read()
        before = words_of(snap.sessions[sid]["agents"])
        fit = self.state_allows(target, snap.agents[target].get("state")) and self.has_free_slot(target, snap)
        refused = target in before or not fit
        cid = self.sessions[sid].cid
        result = self.call(
            self.router.reassign(SUPERVISOR, cid, agent=target, now=self.now),
            refusals={"conflict"} if refused else set(),
        )
        if refused:
            assert isinstance(result, SwitchboardError), f"reassign of {sid} to {target} was not refused"
            return
        after = self.read()
        assert words_of(after.sessions[sid]["agents"]) == [target] and after.sessions[sid]["status"] == "active"
        for aid in before:
            assert sid not in after.slots[aid], f"{aid} keeps the slot of {sid} it was taken from"

    @precondition(has_live_session)
    @rule(data=st.data(), qid=st.sampled_from(QUEUE_IDS))
    def supervisor_reassigns_to_a_queue(self, data: st.DataObject, qid: str) -> None:
        """Waiting again, at its place in time: no agent keeps it."""
        sid = self.live_session(data)
        if sid is None:
            return
        snap = self.read()
        s = snap.sessions[sid]
        served = self.queues[qid].config.languages
        refused = bool(served) and s["language"] not in served
        model = self.sessions[sid]
        kept = (model.queue, model.entered_at, model.priority, model.score, model.overflow_at)
        declined, returned = set(self.declined.get(sid, set())), sid in self.returned
        # the model first: the events of the call refer to the new queue
        config = self.queues[qid].config
        model.queue, model.entered_at = qid, model.queued_at
        model.priority = config.priority + model.chat_priority
        model.score = entry_score(config, model.priority, model.queued_at)
        model.overflow_at = self.overflow_moment(qid, model.queued_at)
        self.declined[sid] = set(words_of(s["agents"]))  # not offered back to any agent it was taken from
        self.returned.discard(sid)  # its place is its time again, checked by the queue order
        result = self.call(
            self.router.reassign(SUPERVISOR, model.cid, queue=qid, now=self.now),
            refusals={"conflict"} if refused else set(),
        )
        if refused:
            assert isinstance(result, SwitchboardError), f"reassign of {sid} to {qid} was not refused"
            model.queue, model.entered_at, model.priority, model.score, model.overflow_at = kept
            self.declined[sid] = declined
            if returned:
                self.returned.add(sid)
            return
        after = self.read()
        for aid in words_of(s["agents"]):
            assert sid not in after.slots[aid], f"{aid} keeps the slot of {sid} it was taken from"
