"""The scenarios run against a real node: auto-accept queues, agent sockets that free their
slot after each chat's drawn handle time, customers that start chats at the drawn times.

Every scenario runs on the same node at the same time, each on its own queues and agents:
an M/M/c run has one queue; a priority run two (`high` at priority 10, `low` at 0) served
by the same agents, which the router treats as a two-class non-preemptive priority queue
(an agent that frees takes the oldest head by priority first; docs/protocol.md, "Routing
as implemented").

Times are wall-clock seconds since the run's start. The server's (`queued_at`,
`connected_at`, `wrapped_at` of each session, read from Redis after the run) come from the
node's clock, the client's from this process's: the same clock, on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from loadtest.bench.connections import Conn
from loadtest.bench.plan import Plan
from loadtest.bench.run import Bench
from loadtest.bench.targets import Switchboard
from switchboard.store.keys import Keys

from .scenario import HIGH, Scenario

WRAP_UP_CODE = "done"
PRIORITY = {HIGH: 10}  # the other classes' queues have priority 0
LEAD_S = 1.0  # from the last socket opened to the first arrival
DRAIN_S = 60.0  # how long after the last arrival the last chat may take to be freed


@dataclass
class Measured:
    """One chat as it ran. None: it did not get that far."""

    sent_s: float | None = None  # the customer sent start_chat
    customer_connected_s: float | None = None  # the customer received chat.connected
    agent_assigned_s: float | None = None  # the agent received conversation.assigned
    session_id: str | None = None
    queued_s: float | None = None  # the server's clock from here on
    connected_s: float | None = None
    freed_s: float | None = None  # its wrap-up freed the agent's slot
    end_sent_s: float | None = None  # the agent's client sent end_session (the client's clock again)

    @property
    def server_wait_s(self) -> float | None:
        return None if self.queued_s is None or self.connected_s is None else self.connected_s - self.queued_s

    @property
    def customer_wait_s(self) -> float | None:
        if self.sent_s is None or self.customer_connected_s is None:
            return None
        return self.customer_connected_s - self.sent_s


@dataclass
class Played:
    """A scenario's sockets and what they saw."""

    scenario: Scenario
    queues: dict[str, str]  # class -> queue id
    measured: list[Measured]
    errors: list[str] = field(default_factory=list)  # error frames the server answered
    began: float = 0.0  # the wall-clock time every other time here counts from
    freed: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def customer_name(scenario: Scenario, index: int) -> str:
    """What a chat's customer is called: the agent finds the chat (and its handle time) by it."""
    return f"{scenario.name}-{index}"


def chat_index(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


async def run_real(scenarios: list[Scenario], workdir: Path, log: Callable[[str], None]) -> list[Played]:
    """The scenarios played on one real node (with its Redis and PostgreSQL): each chat as measured."""
    bench = Bench(Plan.smoke(), workdir, log)  # only its Redis, its PostgreSQL and its nodes
    target = bench.switchboard()
    conns: list[Conn] = []
    try:
        await target.start(bench.redis_url, workdir)
        played = [await setup(target, scenario, conns, log) for scenario in scenarios]
        customers = [await open_customers(target, p, conns) for p in played]
        gc.collect()
        gc.disable()  # a full collection of the sockets would stall the client mid-run
        began = time.time() + LEAD_S
        for p in played:
            p.began = began
        log(f"{sum(len(p.measured) for p in played)} chats over {max(s.duration_s for s in scenarios):g} s")
        await asyncio.gather(*(arrive(target, p, c) for p, c in zip(played, customers, strict=True)))
        for p in played:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(p.done.wait(), max(began + p.scenario.duration_s + DRAIN_S - time.time(), 1))
        await read_server_times(bench.redis_url, played)
        return played
    finally:
        gc.enable()
        await asyncio.gather(*(c.close() for c in conns))
        target.stop()
        bench.close()


async def setup(target: Switchboard, scenario: Scenario, conns: list[Conn], log: Callable[[str], None]) -> Played:
    """The scenario's queues and its agents, signed in and available."""
    queues = {cls: f"{scenario.name}-{cls}" for cls in scenario.classes}
    for cls, qid in queues.items():
        # No wrap-up timeout can come first: each agent wraps up the moment its chat ends.
        await target.put_queue(qid, accept_mode="auto", priority=PRIORITY.get(cls, 0), wrap_up_timeout_s=3600)
    played = Played(scenario, queues, [Measured() for _ in scenario.chats])
    for i in range(scenario.servers):
        aid = f"{scenario.name}-agent-{i}"
        body = {"display_name": aid, "languages": ["en"], "queues": list(queues.values()), "capacity": 1}
        (await target.http.put(f"/api/v1/agents/{aid}", json=body)).raise_for_status()
        response = await target.http.post(f"/api/v1/agents/{aid}/token")
        response.raise_for_status()
        conn = await target.agent(i, response.json()["token"])
        conn.handler = lambda raw, conn=conn: on_agent_frame(target, played, conn, target.decode(raw))
        conns.append(conn)
    log(f"{scenario.name}: {scenario.servers} agents on {', '.join(queues.values())}")
    return played


def on_agent_frame(target: Switchboard, played: Played, conn: Conn, frame: dict[str, Any]) -> None:
    if frame.get("type") == "error":
        played.errors.append(f"agent: {frame}")
    elif frame.get("type") == "ack" and str(frame.get("ref", "")).startswith("free-"):
        played.freed += 1
        if played.freed == len(played.measured):
            played.done.set()
    elif frame.get("type") == "conversation.assigned":
        card = frame["card"]
        index = chat_index(card["customer"]["name"])
        chat = played.measured[index]
        now = time.time()
        chat.agent_assigned_s = now - played.began
        chat.session_id = card["session_id"]
        # The handle time runs from the server's connection of the chat, not from the moment
        # this client heard of it: the push's own latency is not added to the agent's work.
        connected = card.get("connected_at", now * 1000) / 1000
        delay = connected + played.scenario.chats[index].handle_s - now
        asyncio.get_running_loop().call_later(
            max(delay, 0), lambda: start(played, free(target, played, conn, card["conversation_id"], index))
        )


def start(played: Played, job: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(job)
    played.tasks.add(task)
    task.add_done_callback(played.tasks.discard)


async def free(target: Switchboard, played: Played, conn: Conn, conversation_id: str, index: int) -> None:
    """Ends the session and wraps it up at once: one socket's frames are handled in order,
    so the wrap-up need not wait for the end's ack, and the slot is free one command later."""
    played.measured[index].end_sent_s = time.time() - played.began
    await conn.ws.send(target.encode({"type": "end_session", "conversation_id": conversation_id, "ref": f"e{index}"}))
    await conn.ws.send(
        target.encode(
            {"type": "wrap_up", "conversation_id": conversation_id, "code": WRAP_UP_CODE, "ref": f"free-{index}"}
        )
    )


async def open_customers(target: Switchboard, played: Played, conns: list[Conn]) -> list[Conn]:
    """One customer socket per chat, open before the first arrival."""
    gate = asyncio.Semaphore(20)

    async def one(index: int) -> Conn:
        async with gate:
            conn = await target.customer(index)
        chat = played.measured[index]

        def on_frame(raw: Any) -> None:
            frame = target.decode(raw)
            if frame.get("type") == "chat.connected" and chat.customer_connected_s is None:
                chat.customer_connected_s = time.time() - played.began
            elif frame.get("type") == "error":
                played.errors.append(f"customer {index}: {frame}")

        conn.handler = on_frame
        conns.append(conn)
        return conn

    return list(await asyncio.gather(*(one(i) for i in range(len(played.measured)))))


async def arrive(target: Switchboard, played: Played, customers: list[Conn]) -> None:
    """Each customer starts its chat at its drawn arrival time."""
    for index, (chat, conn) in enumerate(zip(played.scenario.chats, customers, strict=True)):
        await asyncio.sleep(max(played.began + chat.arrival_s - time.time(), 0))
        frame = {
            "type": "start_chat",
            "queue": played.queues[chat.cls],
            "customer": {"name": customer_name(played.scenario, index)},
            "ref": f"s{index}",
        }
        played.measured[index].sent_s = time.time() - played.began
        await conn.ws.send(target.encode(frame))


async def read_server_times(redis_url: str, played: list[Played]) -> None:
    """The server's timestamps of every session (ms since the epoch), as seconds since the run began."""
    keys = Keys()
    client = aioredis.Redis.from_url(redis_url)
    try:
        for p in played:
            for chat in p.measured:
                if chat.session_id is None:
                    continue
                fields = await client.hmget(keys.session(chat.session_id), ["queued_at", "connected_at", "wrapped_at"])
                queued, connected, wrapped = (None if v is None else int(v) / 1000 - p.began for v in fields)
                chat.queued_s, chat.connected_s, chat.freed_s = queued, connected, wrapped
    finally:
        await client.aclose()
