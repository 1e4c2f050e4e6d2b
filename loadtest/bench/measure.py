"""The measurements: idle sockets, the relay (paced and saturated), routing latency."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .connections import Conn, sent_ns
from .plan import PAD
from .processes import Usage, proc_rss_kb
from .targets import Switchboard, Target

# ---------------------------------------------------------------- measurements


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(ns_values: list[int]) -> dict[str, float | None]:
    values = [v / 1e6 for v in ns_values]
    return {"p50_ms": _r(pct(values, 0.50)), "p99_ms": _r(pct(values, 0.99)), "n": len(values)}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


async def gather_limited(n: int, limit: int, make: Callable[[int], Awaitable[Any]]) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in range(n))))


async def settle_rss(pid: int) -> int:
    """RSS once it stops moving (the server finishes what the last handshakes started)."""
    last = proc_rss_kb(pid)
    for _ in range(20):
        await asyncio.sleep(0.1)
        now = proc_rss_kb(pid)
        if abs(now - last) < 16:
            return now
        last = now
    return last


async def measure_idle(target: Target, n: int, concurrency: int) -> tuple[dict[str, Any], list[Conn]]:
    """Opens `n` sockets (handshake complete) and keeps them: handshakes/s and RSS per idle socket."""
    pid = target.servers[0].pid
    await target.open_idle(10**6)  # the first socket allocates what every socket then shares
    before = await settle_rss(pid)
    t0 = time.perf_counter()
    conns = await gather_limited(n, concurrency, target.open_idle)
    elapsed = time.perf_counter() - t0
    after = await settle_rss(pid)
    return {
        "handshakes_per_s": round(n / elapsed, 1),
        "idle_sockets": n,
        "rss_per_idle_socket_kb": round((after - before) / n, 2),
        "server_rss_kb": after,
    }, conns


async def close_all(conns: list[Conn]) -> None:
    for i in range(0, len(conns), 200):
        await asyncio.gather(*(c.close() for c in conns[i : i + 200]))


class Relay:
    """Counts and times relayed messages on the agent side of each chat."""

    def __init__(self, target: Target, pairs: list[tuple[Conn, Conn]]) -> None:
        self.target = target
        self.pairs = pairs
        self.latencies: list[int] = []
        self.received = 0
        self.delivered_total = 0  # every relayed text, recording or not (the archive's figures)
        self.recording = False
        self.arrived = [asyncio.Event() for _ in pairs]
        self.slots: list[asyncio.Semaphore] | None = None  # at saturation: a free place in each chat's window
        self.errors = 0
        for i, (customer, agent) in enumerate(pairs):
            customer.handler = self._on_customer
            agent.handler = self._on_agent(i)

    def _on_customer(self, raw: Any) -> None:
        if self.recording and self.target.is_error(raw):
            self.errors += 1

    def _on_agent(self, i: int) -> Callable[[Any], None]:
        text_of = self.target.text_of
        event = self.arrived[i]

        def handler(raw: Any) -> None:
            text = text_of(raw)
            if text is None:
                return
            self.delivered_total += 1
            if self.recording:
                self.received += 1
                self.latencies.append(time.perf_counter_ns() - sent_ns(text))
            event.set()
            if self.slots is not None:
                self.slots[i].release()

        return handler

    async def send(self, i: int) -> None:
        await self.pairs[i][0].ws.send(self.target.message(f"{time.perf_counter_ns()} {PAD}"))

    async def warm(self) -> None:
        """One message through every chat (a subscription may complete just after the connect)."""

        async def one(i: int) -> None:
            for _ in range(50):
                self.arrived[i].clear()
                await self.send(i)
                try:
                    await asyncio.wait_for(self.arrived[i].wait(), 0.5)
                    return
                except TimeoutError:
                    continue
            raise RuntimeError(f"{self.target.name}: chat {i} relays nothing")

        await asyncio.gather(*(one(i) for i in range(len(self.pairs))))

    async def paced(self, interval_s: float, duration_s: float) -> dict[str, Any]:
        """Every chat writes once per `interval_s` (random phase): latency at a given load."""
        self.latencies, self.received, self.recording, self.errors = [], 0, True, 0
        stop = time.monotonic() + duration_s

        async def chat(i: int) -> None:
            await asyncio.sleep(random.random() * interval_s)
            next_at = time.monotonic()
            while next_at < stop:
                await self.send(i)
                next_at += interval_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

        await asyncio.gather(*(chat(i) for i in range(len(self.pairs))))
        await asyncio.sleep(0.2)  # the last ones arrive
        self.recording = False
        rate = len(self.pairs) / interval_s
        return {
            "chats": len(self.pairs),
            "offered_msgs_per_s": round(rate, 1),
            "latency": ms(self.latencies),
            "delivered": self.received,
            "errors": self.errors,
        }

    async def saturate(self, window: int, duration_s: float, warmup_s: float, pids: dict[str, int]) -> dict[str, Any]:
        """Every chat keeps `window` messages in flight: throughput, latency under load, CPU per message."""
        running = True
        inflight = [asyncio.Semaphore(window) for _ in self.pairs]
        self.slots = inflight

        async def chat(i: int) -> None:
            sem = inflight[i]
            while running:
                await sem.acquire()
                if not running:
                    return
                await self.send(i)

        # Counted only while recording: the handler releases a slot on each relayed text.
        self.recording = True
        self.latencies, self.received = [], 0
        tasks = [asyncio.create_task(chat(i)) for i in range(len(self.pairs))]
        await asyncio.sleep(warmup_s)
        self.latencies, self.received, self.errors = [], 0, 0
        usage = Usage(pids)
        await asyncio.sleep(duration_s)
        elapsed, cpu = usage.stop()
        received = self.received
        latencies = list(self.latencies)
        running = False
        self.slots = None
        for sem in inflight:
            sem.release()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.recording = False
        rate = received / elapsed
        servers = sum(v for k, v in cpu.items() if k not in ("redis", "client"))
        return {
            "chats": len(self.pairs),
            "window": window,
            "msgs_per_s": round(rate, 1),
            "errors": self.errors,
            "latency": ms(latencies),
            "server_cpu_us_per_msg": _r(servers / received * 1e6, 1) if received else None,
            "redis_cpu_us_per_msg": _r(cpu["redis"] / received * 1e6, 1) if received else None,
            "cpu_percent": {k: round(v / elapsed * 100, 1) for k, v in cpu.items()},
        }


async def send_quietly(conn: Conn, data: Any) -> None:
    """A send nobody waits for; the socket may be closing at the end of a phase."""
    with contextlib.suppress(Exception):
        await conn.ws.send(data)


async def measure_routing(
    target: Switchboard,
    rate: int,
    duration_s: float,
    agents: int,
    pids: dict[str, int],
    queue: str = "route",
    waiting: int = 0,
    idle_agents: int = 0,
) -> dict[str, Any]:
    """start_chat -> offer latency at `rate` chat starts per second.

    `agents` available agents of the queue take the chats (each accepts its offers);
    `idle_agents` more are available in the queue but lack the skill `routed` the
    measured chats need, so the router must pass them over; `waiting` sessions wait
    in the queue for a skill nobody has, ahead of the measured ones."""
    n = max(1, int(rate * duration_s))
    capacity = min(50, -(-n // agents) + 1)
    await target.put_queue(queue)
    takers = [
        await target.agent(i, t) for i, t in enumerate(await target.agent_tokens(agents, queue, capacity, ["routed"]))
    ]
    bystanders = [await target.agent(i, t) for i, t in enumerate(await target.agent_tokens(idle_agents, queue, 1))]
    offered_at: dict[str, int] = {}

    def on_offer(conn: Conn) -> Callable[[Any], None]:
        def handler(raw: Any) -> None:
            frame = target.decode(raw)
            if frame.get("type") == "offer":
                offered_at[frame["conversation_id"]] = time.perf_counter_ns()
                asyncio.get_running_loop().create_task(
                    send_quietly(conn, target.encode({"type": "accept", "offer_id": frame["offer_id"]}))
                )

        return handler

    for conn in takers:
        conn.handler = on_offer(conn)
    blocked = await gather_limited(waiting, 50, target.customer)
    for conn in blocked:
        await target.request(conn, {"type": "start_chat", "queue": queue, "skills": ["nobody-has-this"]})
    customers = await gather_limited(n, 50, target.customer)
    started_at: dict[str, int] = {}

    async def start(conn: Conn) -> None:
        t = time.perf_counter_ns()
        ack = await target.request(conn, {"type": "start_chat", "queue": queue, "skills": ["routed"]}, 60)
        started_at[ack["conversation_id"]] = t

    usage = Usage(pids)
    t0 = time.monotonic()
    tasks = []
    for i, conn in enumerate(customers):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(start(conn)))
    await asyncio.gather(*tasks)
    deadline = time.monotonic() + 10
    while len(offered_at) < len(started_at) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    elapsed, cpu = usage.stop()
    latencies = [offered_at[c] - t for c, t in started_at.items() if c in offered_at]
    if os.environ.get("BENCH_DUMP_ROUTING"):  # (start offset ms, latency ms) per chat, to see when the tail happens
        t_first = min(started_at.values())
        Path(os.environ["BENCH_DUMP_ROUTING"]).write_text(
            "\n".join(
                f"{(t - t_first) / 1e6:.1f} {(offered_at[c] - t) / 1e6:.2f}"
                for c, t in sorted(started_at.items(), key=lambda kv: kv[1])
                if c in offered_at
            )
        )
    await close_all([*takers, *bystanders, *blocked, *customers])
    return {
        "chat_starts_per_s": rate,
        "achieved_per_s": round(n / elapsed, 1),
        "chats": n,
        "agents": agents,
        "idle_agents": idle_agents,
        "waiting": waiting,
        "latency": ms(latencies),
        "unrouted": len(started_at) - len(latencies),
        "cpu_percent": {k: round(v / elapsed * 100, 1) for k, v in cpu.items()},
    }
