"""What a chaos run must not break: nothing lost, nothing doubled, no agent over capacity, every session ended once."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from typing import Any

from .actors import Agent, Customer
from .nodes import Run


def check(
    run: Run,
    customers: list[Customer],
    agents: list[Agent],
    histories: dict[str, list[dict[str, Any]]],
    events: list[dict[str, Any]],
) -> None:
    v = run.violation
    by_cmid: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for cid, messages in histories.items():
        seqs = [m["seq"] for m in messages]
        if seqs != sorted(set(seqs)):
            v(f"{cid}: history seqs not strictly increasing")
        for m in messages:
            if m.get("client_msg_id"):
                by_cmid[(cid, m["client_msg_id"])].append(m)
    # 1. every acknowledged message: stored once, in the order it was sent, delivered once
    for actor in [*customers, *agents]:
        last: dict[str, int] = {}
        for cid, cmid in actor.sent:
            stored = by_cmid.get((cid, cmid), [])
            if len(stored) != 1:
                v(f"{actor.name}: message {cmid} stored {len(stored)} times in {cid}")
                continue
            if stored[0]["seq"] <= last.get(cid, 0):
                v(f"{actor.name}: message {cmid} stored out of order in {cid}")
            last[cid] = stored[0]["seq"]
    for actor in [*customers, *agents]:
        for received in actor.seqs.values():
            seqs = [seq for seq, _ in received]
            run.figures["resent_on_resume"] += len(seqs) - len(set(seqs))  # asked again by a resume
            # Clients show a conversation in seq order (the contract's order; the
            # history check above makes it the order of sending). Messages that
            # first arrived out of it are counted: a replay after a resume can
            # bring an older one after a newer live one.
            messages = list(dict.fromkeys(seq for seq, kind in received if kind == "message"))
            inverted = sum(1 for a, b in itertools.pairwise(messages) if b < a)
            run.figures["message_inversions"] += inverted
            if inverted:
                print(f"  (messages first received out of seq order by {actor.name}: {messages[:12]})")
            # Other events of two steps run at the same moment (on two nodes, say)
            # may be pushed out of seq order; clients order them by seq.
            run.figures["event_inversions"] += sum(1 for a, b in itertools.pairwise(seqs) if b < a)
            if seqs != sorted(seqs) and run.figures["inversion_samples"] < 3:
                run.figures["inversion_samples"] += 1
                print(f"  (events pushed out of seq order to {actor.name}: {received[:6]})")
    for customer in customers:  # agents' messages reach the customer, each once
        for cid in customer.conversations:
            for m in histories.get(cid, []):
                if m["from"]["role"] == "agent" and m.get("type", "message") == "message":
                    run.figures["deliveries_checked"] += 1
                    if customer.messages[m["message_id"]] != 1:
                        v(f"{customer.name}: agent message {m['message_id']} never received")
    # customers' messages reach the agent that had the session from its
    # (last) connection to its end: live, replayed or in the assignment's thread
    agents_by_name = {a.name: a for a in agents}
    connected: dict[str, tuple[str, int, str]] = {}  # session -> (agent, ts, conversation), the last one
    stayed: dict[str, tuple[str, int, str, int]] = {}
    ended_at: dict[str, int] = {}
    for e in events:
        if e["type"] == "session.connected":
            connected[e["session_id"]] = (e["agent"], e["ts"], e["conversation_id"])
        elif e["type"] == "session.ended":
            ended_at[e["session_id"]] = e["ts"]
        elif e["type"] == "session.wrapped_up" and e["session_id"] in connected:
            agent, since, cid = connected[e["session_id"]]
            if agent == e.get("agent") and e["session_id"] in ended_at:
                stayed[e["session_id"]] = (agent, since, cid, ended_at[e["session_id"]])
    for agent_name, since, cid, until in stayed.values():
        agent = agents_by_name.get(agent_name)
        if agent is None:
            continue
        for m in histories.get(cid, []):
            if m["from"]["role"] == "customer" and since <= m["ts"] < until:
                run.figures["deliveries_checked"] += 1
                if agent.messages[m["message_id"]] == 0 and m["message_id"] not in agent.snapshots:
                    v(f"{agent.name}: customer message {m['message_id']} of {cid} never received")
    # 2. every session ended exactly once
    queued = {e["session_id"] for e in events if e["type"] == "session.queued"}
    ended = Counter(e["session_id"] for e in events if e["type"] == "session.ended")
    run.figures["sessions"] = len(queued)
    for sid in queued:
        if ended[sid] != 1:
            v(f"session {sid} ended {ended[sid]} times")
    # 3. no agent over capacity: slots from connected until wrapped up or handed on
    capacity = {a.name: a.capacity for a in agents}
    holding: dict[str, set[str]] = defaultdict(set)
    peak: Counter[str] = Counter()
    for e in events:
        agent, sid = e.get("agent"), e.get("session_id")
        if e["type"] == "session.connected":
            holding[agent].add(sid)
            peak[agent] = max(peak[agent], len(holding[agent]))
            if len(holding[agent]) > capacity.get(agent, 0):
                v(f"{agent} held {len(holding[agent])} sessions, capacity {capacity.get(agent)}")
        elif e["type"] in ("session.wrapped_up", "session.transferred"):
            holding[agent].discard(sid)
    run.figures["peak_sessions_per_agent"] = max(peak.values(), default=0)


async def wait_archive_drained(run: Run, redis_url: str, cids: list[str], timeout: float) -> float | None:
    """Waits until nothing is marked for the archive or claimed, and PostgreSQL holds
    every conversation up to the seq Redis has (`archived_seq` >= `seq`); returns the
    seconds waited, or None when the deadline passed first."""
    import redis.asyncio as aioredis

    from switchboard.store.keys import Keys

    keys = Keys()
    client = aioredis.Redis.from_url(redis_url)
    began = time.monotonic()
    try:
        while True:
            pipe = client.pipeline(transaction=False)
            pipe.zcard(keys.archive_dirty)
            pipe.zcard(keys.archive_claims("dirty"))
            for cid in cids:
                pipe.hmget(keys.conversation(cid), ["seq", "archived_seq"])
            dirty, claimed, *sides = await pipe.execute()
            # (a conversation gone from Redis left it after PostgreSQL had all of it)
            behind = sum(1 for seq, done in sides if seq is not None and int(done or -1) < int(seq))
            if dirty == 0 and claimed == 0 and behind == 0:
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                run.violation(
                    f"archive not drained after {timeout:.0f} s: {dirty} marked, {claimed} claimed, "
                    f"{behind} conversations behind"
                )
                return None
            await asyncio.sleep(0.2)
    finally:
        await client.aclose()


async def check_archive(run: Run, database_url: str) -> dict[str, int]:
    """Every acknowledged message is in PostgreSQL's `messages` exactly once: the row at
    the seq its ack gave carries its client_msg_id and text, and no other row does."""
    import asyncpg

    cids = sorted({cid for cid, _, _, _ in run.acks})
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT conversation_id, seq, body, frame->>'client_msg_id' AS cmid FROM messages "
            "WHERE conversation_id = ANY($1::text[]) AND kind = 'message'",
            cids,
        )
    finally:
        await connection.close()
    by_seq = {(r["conversation_id"], r["seq"]): r for r in rows}
    by_cmid = Counter((r["conversation_id"], r["cmid"]) for r in rows)
    by_text = Counter((r["conversation_id"], r["body"]) for r in rows)
    counts = {"pg_acked": len(run.acks), "pg_found_once": 0, "pg_missing": 0, "pg_doubled": 0, "pg_wrong_seq": 0}
    for cid, cmid, seq, text in run.acks:
        n = max(by_cmid[(cid, cmid)], by_text[(cid, text)])
        at_seq = by_seq.get((cid, seq))
        if n == 0:
            counts["pg_missing"] += 1
            run.violation(f"PostgreSQL: acknowledged message {cmid} of {cid} (seq {seq}) missing")
        elif n > 1:
            counts["pg_doubled"] += 1
            run.violation(f"PostgreSQL: acknowledged message {cmid} of {cid} stored {n} times")
        elif at_seq is None or at_seq["cmid"] != cmid or at_seq["body"] != text:
            counts["pg_wrong_seq"] += 1
            run.violation(f"PostgreSQL: message {cmid} of {cid} is not at seq {seq}, the seq of its ack")
        else:
            counts["pg_found_once"] += 1
    return counts
