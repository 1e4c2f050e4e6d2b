"""Switchboard's benchmark: its figures as ratios to two baselines measured in the same run.

The machines we measure on are shared and noisy, so an absolute figure means
little; each Switchboard figure is printed beside the same figure of

- `minimal`: a minimal Starlette relay (loadtest/baselines/minimal_relay.py),
  two sockets forwarded to each other through Redis pub/sub and nothing else;
- `socketio`: python-socketio with its AsyncRedisManager doing the same
  two-party relay (loadtest/baselines/socketio_relay.py),

all started here as real processes on 127.0.0.1 on one redis-server (the
embedded spawner, switchboard.embedded), with the same client (the
`websockets` library on uvloop, in this process).

Figures (see docs/performance.md for what each one means and what limits it):
handshakes per second, server RSS per idle socket, relay latency (customer
send -> agent receive, p50/p99) at a paced load, relay throughput and CPU per
message (server and Redis) at saturation, routing latency (start_chat -> offer,
p50/p99) at a paced rate of chat starts, the relay throughput of three nodes
against one, and with --growth how routing latency grows with agents per queue
and with waiting sessions per queue, and what the node costs at 100 to 5,000
open sockets.

    PYTHONPATH=server python -m loadtest.bench --quick          # under a minute
    PYTHONPATH=server python -m loadtest.bench                  # a few minutes
    PYTHONPATH=server python -m loadtest.bench --growth         # growth tables only
    PYTHONPATH=server python -m loadtest.bench --json out.json  # the report as JSON too
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import redis as redis_sync
from websockets.asyncio.client import ClientConnection, connect

from switchboard.embedded import EmbeddedRedis, find_redis_binary

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "bench-admin-token"
SECRET = "bench-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PAD = "x" * 80  # message text is "<sent ns> " plus this: about 100 characters, a chat line

#: Every bench client comes from 127.0.0.1 and a saturating chat writes as fast as
#: it can: the limits against hostile clients (gateway/limits.py) would refuse
#: both. The bench measures capacity, so they are lifted (the per-frame check
#: itself still runs); a node keeps them in production.
CAPACITY_ENV = {
    "SWITCHBOARD_FRAMES_PER_S": "1000000", "SWITCHBOARD_FRAME_BURST": "1000000",
    "SWITCHBOARD_SOCKETS_PER_IP": "0", "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN": "0",
    "SWITCHBOARD_HTTP_REQUESTS_PER_S": "0",
}

json_encode = msgspec.json.Encoder().encode
json_decode = msgspec.json.Decoder().decode
msgpack_encode = msgspec.msgpack.Encoder().encode
msgpack_decode = msgspec.msgpack.Decoder().decode


# ---------------------------------------------------------------- sizes of a run


@dataclass(frozen=True)
class Plan:
    handshakes: int = 2000  # sockets opened for handshakes/s and kept open for RSS per idle socket
    concurrency: int = 50  # handshakes in flight
    chats: int = 200  # concurrent chats (socket pairs) for the relay figures
    paced_interval_s: float = 1.0  # each chat's customer writes once per this, for the latency figure
    paced_s: float = 8.0
    saturate_s: float = 8.0
    window: int = 2  # messages in flight per chat at saturation
    route_rate: int = 500  # chat starts per second for the routing figure
    route_s: float = 3.0
    route_agents: int = 50
    nodes: int = 3  # the scale-out figure: this many nodes against one
    warmup_s: float = 1.0
    # --growth: routing at a modest rate against agents and waiting sessions per queue,
    # and the node with this many open sockets
    growth_rate: int = 100
    growth_s: float = 2.0
    growth_agents: tuple[int, ...] = (10, 100, 1000)
    growth_waiting: tuple[int, ...] = (0, 100, 1000)
    growth_sockets: tuple[int, ...] = (100, 1000, 5000)

    @classmethod
    def quick(cls) -> Plan:
        return cls(handshakes=400, chats=50, paced_s=3.0, saturate_s=3.0, route_rate=200, route_s=2.0,
                   route_agents=20, warmup_s=0.5, growth_s=1.5)

    @classmethod
    def smoke(cls) -> Plan:
        """Every figure, each from a handful of samples: proves the harness works, measures nothing."""
        return cls(handshakes=30, concurrency=10, chats=4, paced_interval_s=0.2, paced_s=0.6, saturate_s=0.6,
                   route_rate=20, route_s=0.5, route_agents=2, nodes=2, warmup_s=0.2, growth_rate=20,
                   growth_s=0.5, growth_agents=(2, 5), growth_waiting=(0, 3), growth_sockets=(5, 10))


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """A server process started by the bench, ready when its port answers."""

    def __init__(self, name: str, args: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.name, self.port = name, port
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def ready(self, path: str | None, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log.name}")
                try:
                    if path is None:
                        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                        writer.close()
                        return
                    if (await client.get(f"http://127.0.0.1:{self.port}{path}")).status_code == 200:
                        return
                except (OSError, httpx.TransportError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not become ready; see {self.log.name}")
                await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


class Usage:
    """CPU seconds of a set of processes (and of this client) between two points."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self._read()
        self.t0 = time.monotonic()

    def _read(self) -> dict[str, float]:
        values = {name: proc_cpu_s(pid) for name, pid in self.pids.items()}
        t = os.times()
        values["client"] = t.user + t.system
        return values

    def stop(self) -> tuple[float, dict[str, float]]:
        end = self._read()
        return time.monotonic() - self.t0, {k: end[k] - self.start[k] for k in end}


# ---------------------------------------------------------------- client connections


class Conn:
    """One client WebSocket: frames go to `handler` when set, else to an inbox."""

    def __init__(self, ws: ClientConnection, decode: Callable[[Any], Any]) -> None:
        self.ws = ws
        self.decode = decode
        self.handler: Callable[[Any], None] | None = None
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.backlog: list[Any] = []
        self.pong: bytes | str | None = None  # socket.io: answer a "2" ping with this
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                if self.pong is not None and raw == "2":
                    await self.ws.send("3")
                    continue
                handler = self.handler
                if handler is not None:
                    handler(raw)
                else:
                    self.inbox.put_nowait(raw)

    async def expect(self, match: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        """The first frame that matches; frames passed over stay for a later expect."""
        for i, frame in enumerate(self.backlog):
            if match(frame):
                del self.backlog[i]
                return frame
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame")
            frame = self.decode(await asyncio.wait_for(self.inbox.get(), remaining))
            if match(frame):
                return frame
            self.backlog.append(frame)
            del self.backlog[:-50]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


async def open_ws(url: str, subprotocols: list[str] | None = None) -> ClientConnection:
    return await connect(url, subprotocols=subprotocols, compression=None, max_size=2**20, open_timeout=30,
                         ping_interval=None, max_queue=None)


def sent_ns(text: str) -> int:
    return int(text.split(" ", 1)[0])


# ---------------------------------------------------------------- targets


class Target:
    """A server under test: how to start it, open an idle socket, set up a chat and relay in it."""

    name = ""
    servers: list[Server]

    async def start(self, redis_url: str, workdir: Path, nodes: int = 1) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def pids(self) -> dict[str, int]:
        return {f"node{i}" if len(self.servers) > 1 else "server": s.pid for i, s in enumerate(self.servers)}

    def url(self, i: int) -> str:
        return f"ws://127.0.0.1:{self.servers[i % len(self.servers)].port}"

    async def open_idle(self, i: int) -> Conn:
        raise NotImplementedError

    async def pairs(self, n: int) -> list[tuple[Conn, Conn]]:
        """`n` chats ready to relay: (customer side, agent side)."""
        raise NotImplementedError

    def message(self, text: str) -> Any:
        raise NotImplementedError

    def text_of(self, raw: Any) -> str | None:
        """The relayed text in a frame the agent side received; None for other frames."""
        raise NotImplementedError

    def is_error(self, raw: Any) -> bool:
        """Whether a frame the sender got back refuses what it sent."""
        return False


class Switchboard(Target):
    def __init__(self, protocol: str = "json") -> None:
        self.protocol = protocol
        self.name = f"switchboard-{protocol}"
        self.binary = protocol == "msgpack"
        self.subprotocols = [f"switchboard.v1.{protocol}"]
        self.encode = msgpack_encode if self.binary else (lambda f: json_encode(f).decode())
        self.decode = msgpack_decode if self.binary else json_decode
        self.servers = []
        self._agents = 0

    async def start(self, redis_url: str, workdir: Path, nodes: int = 1) -> None:
        for _ in range(nodes):
            port = free_port()
            env = child_env({"SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN, "SWITCHBOARD_SECRET": SECRET,
                             "SWITCHBOARD_DATA_DIR": str(workdir / "sb-data"), **CAPACITY_ENV})
            args = [sys.executable, "-m", "switchboard", "serve", "--port", str(port), "--redis-url", redis_url,
                    "--log-level", "warning"]
            self.servers.append(Server(f"{self.name}:{port}", args, port, env, workdir / f"sb-{port}.log"))
        for server in self.servers:
            await server.ready("/readyz")
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.servers[0].port}",
                                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
        await self.put_queue("bench")

    def stop(self) -> None:
        super().stop()

    async def put_queue(self, qid: str, **config: Any) -> None:
        body = {"name": qid, "offer_timeout_s": 300, "wrap_up_codes": [{"code": "done", "label": "Done"}], **config}
        (await self.http.put(f"/api/v1/queues/{qid}", json=body)).raise_for_status()

    async def agent_tokens(self, n: int, queue: str, capacity: int = 1, skills: list[str] | None = None) -> list[str]:
        """Creates `n` new agents of `queue` and returns their tokens."""
        first, self._agents = self._agents, self._agents + n
        sem = asyncio.Semaphore(20)

        async def one(i: int) -> str:
            aid = f"a{i}"
            async with sem:
                body = {"display_name": f"Agent {i}", "languages": ["en"], "skills": skills or [],
                        "queues": [queue], "capacity": capacity}
                (await self.http.put(f"/api/v1/agents/{aid}", json=body)).raise_for_status()
                response = await self.http.post(f"/api/v1/agents/{aid}/token")
                response.raise_for_status()
                return response.json()["token"]

        return list(await asyncio.gather(*(one(i) for i in range(first, first + n))))

    async def request(self, conn: Conn, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        ref = f"r{random.getrandbits(40)}"
        await conn.ws.send(self.encode({**frame, "ref": ref}))
        answer = await conn.expect(lambda f: f.get("ref") == ref, timeout)
        if answer["type"] != "ack":
            raise RuntimeError(f"{frame['type']} refused: {answer}")
        return answer

    async def customer(self, i: int) -> Conn:
        conn = Conn(await open_ws(self.url(i) + "/ws/customer", self.subprotocols), self.decode)
        await conn.ws.send(self.encode({"type": "hello"}))
        await conn.expect(lambda f: f["type"] == "welcome")
        return conn

    async def agent(self, i: int, token: str) -> Conn:
        conn = Conn(await open_ws(self.url(i) + "/ws/agent", self.subprotocols), self.decode)
        await conn.ws.send(self.encode({"type": "hello", "token": token}))
        await conn.expect(lambda f: f["type"] == "welcome")
        await self.request(conn, {"type": "set_state", "state": "available"})
        return conn

    async def open_idle(self, i: int) -> Conn:
        return await self.customer(i)

    async def pairs(self, n: int) -> list[tuple[Conn, Conn]]:
        tokens = await self.agent_tokens(n, "bench")
        sem = asyncio.Semaphore(20)

        async def agent(i: int) -> Conn:
            async with sem:
                # On several nodes an agent sits on the node after its customer's:
                # every message crosses nodes through Redis.
                return await self.agent(i + 1, tokens[i])

        agents = list(await asyncio.gather(*(agent(i) for i in range(n))))
        by_conversation: dict[str, Conn] = {}

        async def take_offers(conn: Conn) -> None:
            offer = await conn.expect(lambda f: f["type"] == "offer", 60)
            await self.request(conn, {"type": "accept", "offer_id": offer["offer_id"]})
            by_conversation[offer["conversation_id"]] = conn

        takers = [asyncio.create_task(take_offers(a)) for a in agents]

        async def customer(i: int) -> tuple[str, Conn]:
            async with sem:
                conn = await self.customer(i)
                ack = await self.request(conn, {"type": "start_chat", "queue": "bench"})
                await conn.expect(lambda f: f["type"] == "chat.connected", 60)
                return ack["conversation_id"], conn

        customers = await asyncio.gather(*(customer(i) for i in range(n)))
        await asyncio.gather(*takers)
        return [(conn, by_conversation[cid]) for cid, conn in customers]

    def message(self, text: str) -> Any:
        # With a ref, as clients send them: the server acks every one.
        return self.encode({"type": "message", "text": text, "ref": "m"})

    def text_of(self, raw: Any) -> str | None:
        frame = self.decode(raw)
        return frame["text"] if frame.get("type") == "message" else None

    def is_error(self, raw: Any) -> bool:
        return self.decode(raw).get("type") == "error"


class Baseline(Target):
    """A baseline relay (loadtest/baselines/<module>.py): one node; a socket names
    itself and its peer, and the two are relayed to each other."""

    module = ""

    def __init__(self) -> None:
        self.servers = []
        self._n = 0

    async def start(self, redis_url: str, workdir: Path, nodes: int = 1) -> None:
        port = free_port()
        args = [sys.executable, "-m", f"loadtest.baselines.{self.module}", "--port", str(port), "--redis-url", redis_url]
        self.servers.append(Server(f"{self.name}:{port}", args, port, child_env(), workdir / f"{self.name}-{port}.log"))
        await self.servers[0].ready(None)

    async def _open(self, me: str, peer: str) -> Conn:
        raise NotImplementedError

    async def open_idle(self, i: int) -> Conn:
        return await self._open(f"idle{i}", "nobody")

    async def pairs(self, n: int) -> list[tuple[Conn, Conn]]:
        first, self._n = self._n, self._n + n
        sem = asyncio.Semaphore(20)

        async def pair(i: int) -> tuple[Conn, Conn]:
            async with sem:
                return await self._open(f"c{i}", f"a{i}"), await self._open(f"a{i}", f"c{i}")

        return list(await asyncio.gather(*(pair(i) for i in range(first, first + n))))


class MinimalRelay(Baseline):
    name = "minimal"
    module = "minimal_relay"

    async def _open(self, me: str, peer: str) -> Conn:
        return Conn(await open_ws(f"{self.url(0)}/ws?me={me}&peer={peer}"), json_decode)

    def message(self, text: str) -> Any:
        return json_encode({"text": text}).decode()

    def text_of(self, raw: Any) -> str | None:
        return json_decode(raw).get("text")


class SocketIORelay(Baseline):
    """Speaks Engine.IO 4 / Socket.IO 5 over a raw websocket, so the client costs what the others cost."""

    name = "socketio"
    module = "socketio_relay"

    async def _open(self, me: str, peer: str) -> Conn:
        ws = await open_ws(f"{self.url(0)}/socket.io/?EIO=4&transport=websocket")
        opening = await ws.recv()
        if not str(opening).startswith("0"):
            raise RuntimeError(f"unexpected engine.io open packet {opening!r}")
        await ws.send("40" + json_encode({"me": me, "peer": peer}).decode())
        connected = await ws.recv()
        if not str(connected).startswith("40"):
            raise RuntimeError(f"socket.io connect refused: {connected!r}")
        conn = Conn(ws, lambda raw: raw)
        conn.pong = "3"
        return conn

    def message(self, text: str) -> Any:
        return "42" + json_encode(["msg", text]).decode()

    def text_of(self, raw: Any) -> str | None:
        if isinstance(raw, str) and raw.startswith("42"):
            event = json_decode(raw[2:])
            return event[1] if event[0] == "msg" else None
        return None


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
        await asyncio.gather(*(c.close() for c in conns[i:i + 200]))


class Relay:
    """Counts and times relayed messages on the agent side of each chat."""

    def __init__(self, target: Target, pairs: list[tuple[Conn, Conn]]) -> None:
        self.target = target
        self.pairs = pairs
        self.latencies: list[int] = []
        self.received = 0
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
                except asyncio.TimeoutError:
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
        return {"chats": len(self.pairs), "offered_msgs_per_s": round(rate, 1), "latency": ms(self.latencies),
                "delivered": self.received, "errors": self.errors}

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
            "chats": len(self.pairs), "window": window, "msgs_per_s": round(rate, 1), "errors": self.errors,
            "latency": ms(latencies),
            "server_cpu_us_per_msg": _r(servers / received * 1e6, 1) if received else None,
            "redis_cpu_us_per_msg": _r(cpu["redis"] / received * 1e6, 1) if received else None,
            "cpu_percent": {k: round(v / elapsed * 100, 1) for k, v in cpu.items()},
        }


async def send_quietly(conn: Conn, data: Any) -> None:
    """A send nobody waits for; the socket may be closing at the end of a phase."""
    with contextlib.suppress(Exception):
        await conn.ws.send(data)


async def measure_routing(target: Switchboard, rate: int, duration_s: float, agents: int, pids: dict[str, int],
                          queue: str = "route", waiting: int = 0, idle_agents: int = 0) -> dict[str, Any]:
    """start_chat -> offer latency at `rate` chat starts per second.

    `agents` available agents of the queue take the chats (each accepts its offers);
    `idle_agents` more are available in the queue but lack the skill `routed` the
    measured chats need, so the router must pass them over; `waiting` sessions wait
    in the queue for a skill nobody has, ahead of the measured ones."""
    n = max(1, int(rate * duration_s))
    capacity = min(50, -(-n // agents) + 1)
    await target.put_queue(queue)
    takers = [await target.agent(i, t) for i, t in enumerate(await target.agent_tokens(agents, queue, capacity, ["routed"]))]
    bystanders = [await target.agent(i, t) for i, t in enumerate(await target.agent_tokens(idle_agents, queue, 1))]
    offered_at: dict[str, int] = {}

    def on_offer(conn: Conn) -> Callable[[Any], None]:
        def handler(raw: Any) -> None:
            frame = target.decode(raw)
            if frame.get("type") == "offer":
                offered_at[frame["conversation_id"]] = time.perf_counter_ns()
                asyncio.get_running_loop().create_task(send_quietly(conn, target.encode(
                    {"type": "accept", "offer_id": frame["offer_id"]})))
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
        Path(os.environ["BENCH_DUMP_ROUTING"]).write_text("\n".join(
            f"{(t - t_first) / 1e6:.1f} {(offered_at[c] - t) / 1e6:.2f}" for c, t in sorted(started_at.items(), key=lambda kv: kv[1])
            if c in offered_at))
    await close_all([*takers, *bystanders, *blocked, *customers])
    return {
        "chat_starts_per_s": rate, "achieved_per_s": round(n / elapsed, 1), "chats": n,
        "agents": agents, "idle_agents": idle_agents, "waiting": waiting,
        "latency": ms(latencies), "unrouted": len(started_at) - len(latencies),
        "cpu_percent": {k: round(v / elapsed * 100, 1) for k, v in cpu.items()},
    }


# ---------------------------------------------------------------- the run


class Bench:
    def __init__(self, plan: Plan, workdir: Path, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.workdir = workdir
        self.log = log
        binary = shutil.which("redis-server") or find_redis_binary()
        self.redis = EmbeddedRedis(workdir / "redis", binary=binary, port=free_port())
        self.redis_url = self.redis.start()
        self.redis_pid = self.redis.pid or 0
        self.profile_dir: Path | None = None

    def close(self) -> None:
        self.redis.stop()

    def flush(self) -> None:
        """Empties Redis before a measurement; and collects the client's own garbage
        here, between measurements (the run keeps the collector off: a full collection
        of the client's sockets would stall it and count as the server's latency)."""
        gc.collect()
        client = redis_sync.Redis.from_url(self.redis_url)
        client.flushall()
        client.close()

    @contextlib.contextmanager
    def profiled(self, target: Target, phase: str) -> Any:
        """With --profile DIR: py-spy samples the first server process during the phase
        (collapsed stacks in DIR/<target>-<phase>.txt; flamegraph.pl or speedscope read them)."""
        if self.profile_dir is None:
            yield
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = self.profile_dir / f"{target.name}-{phase}.txt"
        spy = subprocess.Popen([shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(target.servers[0].pid),
                                "--format", "raw", "--rate", "200", "--nonblocking", "-o", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield
        finally:
            spy.send_signal(2)
            spy.wait(timeout=30)

    def pids(self, target: Target) -> dict[str, int]:
        return {**target.pids(), "redis": self.redis_pid}

    async def relay_target(self, target: Target, nodes: int = 1, idle: bool = True) -> dict[str, Any]:
        plan = self.plan
        self.flush()
        self.log(f"{target.name}: starting {nodes} node(s)")
        await target.start(self.redis_url, self.workdir, nodes)
        try:
            result: dict[str, Any] = {"target": target.name, "nodes": nodes}
            if idle:
                self.log(f"{target.name}: {plan.handshakes} handshakes")
                result["idle"], conns = await measure_idle(target, plan.handshakes, plan.concurrency)
                await close_all(conns)
            self.log(f"{target.name}: {plan.chats} chats")
            pairs = await target.pairs(plan.chats)
            relay = Relay(target, pairs)
            await relay.warm()
            if idle:
                self.log(f"{target.name}: paced relay")
                result["paced"] = await relay.paced(plan.paced_interval_s, plan.paced_s)
            self.log(f"{target.name}: saturated relay")
            with self.profiled(target, "relay"):
                result["saturated"] = await relay.saturate(plan.window, plan.saturate_s, plan.warmup_s, self.pids(target))
            await close_all([c for pair in pairs for c in pair])
            return result
        finally:
            target.stop()

    async def routing(self, protocol: str = "json", rates: list[int] | None = None) -> list[dict[str, Any]]:
        plan = self.plan
        self.flush()
        target = Switchboard(protocol)
        await target.start(self.redis_url, self.workdir)
        results = []
        try:
            for i, rate in enumerate(rates or [plan.route_rate]):
                self.log(f"routing at {rate} chat starts/s")
                with self.profiled(target, f"routing{i}"):
                    results.append(await measure_routing(target, rate, plan.route_s, plan.route_agents,
                                                         self.pids(target), queue=f"route{i}"))
        finally:
            target.stop()
        return results

    async def growth(self) -> dict[str, Any]:
        """Routing latency against agents per queue and waiting sessions per queue, and
        the node's cost and relay latency with more and more open sockets. One node;
        each step in a queue of its own, so what the steps before left does not count."""
        plan = self.plan
        out: dict[str, Any] = {"routing_by_agents": [], "routing_by_waiting": [], "sockets": []}
        self.flush()
        target = Switchboard("json")
        await target.start(self.redis_url, self.workdir)
        try:
            for i, idle_agents in enumerate(plan.growth_agents):
                self.log(f"growth: routing with {idle_agents} more idle agents in the queue")
                out["routing_by_agents"].append(await measure_routing(
                    target, plan.growth_rate, plan.growth_s, 10, self.pids(target), queue=f"agents{i}",
                    idle_agents=idle_agents))
            for i, waiting in enumerate(plan.growth_waiting):
                self.log(f"growth: routing with {waiting} sessions waiting ahead")
                out["routing_by_waiting"].append(await measure_routing(
                    target, plan.growth_rate, plan.growth_s, 10, self.pids(target), queue=f"waiting{i}",
                    waiting=waiting))
        finally:
            target.stop()
        # RSS per socket needs a fresh process: one that freed memory reuses it.
        for sockets in plan.growth_sockets:
            self.flush()
            target = Switchboard("json")
            await target.start(self.redis_url, self.workdir)
            try:
                self.log(f"growth: {sockets} open sockets")
                idle, conns = await measure_idle(target, sockets, plan.concurrency)
                pairs = await target.pairs(min(50, plan.chats))
                relay = Relay(target, pairs)
                await relay.warm()
                paced = await relay.paced(plan.paced_interval_s / 2, max(plan.paced_s / 2, 0.5))
                out["sockets"].append({"sockets": sockets, **idle, "relay": paced})
                await close_all([*conns, *(c for p in pairs for c in p)])
            finally:
                target.stop()
        return out


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """Each Switchboard figure as a ratio to each baseline (higher is better for rates, lower for costs)."""
    by = {r["target"]: r for r in report["relay"]}
    ratios: dict[str, Any] = {}
    for protocol in ("json", "msgpack"):
        sb = by.get(f"switchboard-{protocol}")
        if sb is None:
            continue
        for base in ("minimal", "socketio"):
            b = by.get(base)
            if b is None:
                continue
            ratios[f"{protocol}/{base}"] = {
                "relay_throughput": ratio(sb["saturated"]["msgs_per_s"], b["saturated"]["msgs_per_s"]),
                "relay_p99_paced": ratio(sb["paced"]["latency"]["p99_ms"], b["paced"]["latency"]["p99_ms"]),
                "relay_p50_paced": ratio(sb["paced"]["latency"]["p50_ms"], b["paced"]["latency"]["p50_ms"]),
                "handshakes_per_s": ratio(sb["idle"]["handshakes_per_s"], b["idle"]["handshakes_per_s"]),
                "rss_per_idle_socket": ratio(sb["idle"]["rss_per_idle_socket_kb"], b["idle"]["rss_per_idle_socket_kb"]),
                "server_cpu_per_msg": ratio(sb["saturated"]["server_cpu_us_per_msg"], b["saturated"]["server_cpu_us_per_msg"]),
                # throughput at equal CPU: what a core would carry, less sensitive to a shared machine
                "relay_msgs_per_server_core": ratio(b["saturated"]["server_cpu_us_per_msg"], sb["saturated"]["server_cpu_us_per_msg"]),
            }
    if "minimal" in by and "socketio" in by:
        # The ceiling of any "x socketio" figure on this machine: a relay that only forwards.
        m, sio = by["minimal"]["saturated"], by["socketio"]["saturated"]
        ratios["minimal/socketio"] = {
            "relay_throughput": ratio(m["msgs_per_s"], sio["msgs_per_s"]),
            "relay_msgs_per_server_core": ratio(sio["server_cpu_us_per_msg"], m["server_cpu_us_per_msg"]),
        }
    if report.get("scale_out"):
        one = by.get("switchboard-json")
        many = report["scale_out"]
        if one:
            ratios["scale_out"] = {
                "nodes": many["nodes"],
                "relay_throughput": ratio(many["saturated"]["msgs_per_s"], one["saturated"]["msgs_per_s"]),
                "projected_with_a_core_per_node": scale_out_projection(one["saturated"], many["saturated"], many["nodes"]),
            }
    return ratios


def scale_out_projection(one: dict[str, Any], many: dict[str, Any], nodes: int) -> float | None:
    """What `nodes` nodes would carry against one if each had a core of its own, from
    the CPU each message cost in the two runs: `nodes` x (one node's CPU per message /
    the nodes' CPU per message, summed), capped where Redis's core is full (one node's
    CPU per message / Redis's). A projection, printed as one: where the machine has
    fewer cores than nodes + Redis + client, the measured figure is the core count's."""
    c1, cn = one["server_cpu_us_per_msg"], many["server_cpu_us_per_msg"]
    redis = many["redis_cpu_us_per_msg"]
    if not (c1 and cn and redis):
        return None
    return round(min(nodes * c1 / cn, c1 / redis), 2)


def table(report: dict[str, Any]) -> str:
    by = {r["target"]: r for r in report["relay"]}
    names = [n for n in ("switchboard-json", "switchboard-msgpack", "minimal", "socketio") if n in by]
    rows: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("relay throughput (msg/s)", lambda r: r["saturated"]["msgs_per_s"]),
        ("relay p50 at saturation (ms)", lambda r: r["saturated"]["latency"]["p50_ms"]),
        ("relay p99 at saturation (ms)", lambda r: r["saturated"]["latency"]["p99_ms"]),
        ("relay p50 paced (ms)", lambda r: r["paced"]["latency"]["p50_ms"]),
        ("relay p99 paced (ms)", lambda r: r["paced"]["latency"]["p99_ms"]),
        ("errors answered at saturation", lambda r: r["saturated"]["errors"]),
        ("server CPU % at saturation", lambda r: r["saturated"]["cpu_percent"]["server"]),
        ("server CPU per msg (us)", lambda r: r["saturated"]["server_cpu_us_per_msg"]),
        ("msg/s per server core (1e6 / CPU per msg)", lambda r: round(1e6 / r["saturated"]["server_cpu_us_per_msg"])),
        ("Redis CPU per msg (us)", lambda r: r["saturated"]["redis_cpu_us_per_msg"]),
        ("handshakes per s", lambda r: r["idle"]["handshakes_per_s"]),
        ("RSS per idle socket (KB)", lambda r: r["idle"]["rss_per_idle_socket_kb"]),
    ]
    plan = report["plan"]
    m = report["machine"]
    lines = [f"machine: {m['cpus']} x {m['cpu_model']}, Python {m['python']}; load average "
             f"{m['load_avg_at_start'][0]} at the start, {m.get('load_avg_at_end', ['?'])[0]} at the end", ""]
    if names:
        lines += [f"relay: {plan['chats']} chats; paced: one message per chat every {plan['paced_interval_s']} s; "
                  f"saturated: {plan['window']} in flight per chat; idle: {plan['handshakes']} sockets", ""]
        lines += relay_table(by, names, rows)
    return "\n".join(lines + rest_tables(report))


def relay_table(by: dict[str, Any], names: list[str],
                rows: list[tuple[str, Callable[[dict[str, Any]], Any]]]) -> list[str]:
    lines: list[str] = []
    header = ["figure", *names]
    ratio_names = [f"{p}/{b}" for p in ("json", "msgpack") for b in ("minimal", "socketio")
                   if f"switchboard-{p}" in by and b in by]
    ceiling = "minimal" in by and "socketio" in by  # what only forwarding gives against socketio
    header += [f"x {n}" for n in ratio_names] + (["minimal/socketio"] if ceiling else [])
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for label, get in rows:
        cells = [label]
        values = {}
        for n in names:
            try:
                values[n] = get(by[n])
            except (KeyError, TypeError):
                values[n] = None
            cells.append("-" if values[n] is None else str(values[n]))
        for rn in ratio_names:
            p, b = rn.split("/")
            cells.append(str(ratio(values.get(f"switchboard-{p}"), values.get(b)) or "-"))
        if ceiling:
            cells.append(str(ratio(values.get("minimal"), values.get("socketio")) or "-"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def rest_tables(report: dict[str, Any]) -> list[str]:
    by = {r["target"]: r for r in report["relay"]}
    lines: list[str] = []
    if report.get("routing"):
        lines += ["", "| routing (start_chat -> offer) | starts/s achieved | p50 (ms) | p99 (ms) | unrouted | server CPU % | Redis CPU % |",
                  "|---|---|---|---|---|---|---|"]
        for r in report["routing"]:
            cpu = r["cpu_percent"]
            lines.append(f"| {r['chat_starts_per_s']}/s, {r['agents']} agents | {r['achieved_per_s']} | "
                         f"{r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['unrouted']} | "
                         f"{cpu.get('server')} | {cpu.get('redis')} |")
    if report.get("scale_out"):
        s = report["scale_out"]
        one = by.get("switchboard-json")
        lines += ["", "| scale-out (JSON) | relay msg/s | x one node | nodes' CPU per msg (us) | Redis CPU per msg (us) | CPU % (nodes, Redis, client) |",
                  "|---|---|---|---|---|---|"]
        if one:
            o = one["saturated"]
            lines.append(f"| 1 node | {o['msgs_per_s']} | 1.0 | {o['server_cpu_us_per_msg']} | {o['redis_cpu_us_per_msg']} | {o['cpu_percent']} |")
        m = s["saturated"]
        lines.append(f"| {s['nodes']} nodes | {m['msgs_per_s']} | "
                     f"{ratio(m['msgs_per_s'], one['saturated']['msgs_per_s']) if one else '-'} | "
                     f"{m['server_cpu_us_per_msg']} | {m['redis_cpu_us_per_msg']} | {m['cpu_percent']} |")
        if one:
            projected = scale_out_projection(one["saturated"], m, s["nodes"])
            lines.append(f"\nprojected with a core per node (from the CPU per message above, capped by Redis's core): "
                         f"{projected} x one node")
    if report.get("growth"):
        g = report["growth"]
        rate = report["plan"]["growth_rate"]
        lines += ["", f"| routing at {rate} starts/s, 10 agents taking chats, plus idle agents passed over | p50 (ms) | p99 (ms) | Redis CPU % |", "|---|---|---|---|"]
        for r in g["routing_by_agents"]:
            lines.append(f"| {r['idle_agents']} idle agents | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['cpu_percent'].get('redis')} |")
        lines += ["", f"| routing at {rate} starts/s, sessions waiting ahead for a skill nobody has | p50 (ms) | p99 (ms) | unrouted | Redis CPU % |", "|---|---|---|---|---|"]
        for r in g["routing_by_waiting"]:
            lines.append(f"| {r['waiting']} waiting | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['unrouted']} | {r['cpu_percent'].get('redis')} |")
        lines += ["", "| open sockets | handshakes/s | RSS per socket (KB) | server RSS (MB) | relay p50 / p99, paced (ms) |", "|---|---|---|---|---|"]
        for r in g["sockets"]:
            lat = r["relay"]["latency"]
            lines.append(f"| {r['sockets']} | {r['handshakes_per_s']} | {r['rss_per_idle_socket_kb']} | "
                         f"{round(r['server_rss_kb'] / 1024, 1)} | {lat['p50_ms']} / {lat['p99_ms']} |")
    return lines


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": sys.version.split()[0],
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


async def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    plan = Plan.smoke() if args.smoke else Plan.quick() if args.quick else Plan()
    if args.chats:
        plan = Plan(**{**plan.__dict__, "chats": args.chats})
    if args.route_rate:
        plan = Plan(**{**plan.__dict__, "route_rate": args.route_rate})
    started = time.monotonic()
    report: dict[str, Any] = {"mode": "smoke" if args.smoke else "quick" if args.quick else "full", "plan": plan.__dict__, "machine": machine(), "relay": []}
    tmp = tempfile.mkdtemp(prefix="sb-bench-")
    bench = Bench(plan, Path(tmp), log)
    gc.disable()  # see Bench.flush
    bench.profile_dir = args.profile
    try:
        if args.routing_only:
            report["routing"] = await bench.routing()
        elif not args.growth_only:
            targets: list[Target] = [Switchboard(p) for p in args.protocols]
            baselines = {"minimal": MinimalRelay, "socketio": SocketIORelay}
            targets += [baselines[name]() for name in args.baselines if name]
            for target in targets:
                report["relay"].append(await bench.relay_target(target))
            if not args.no_routing:
                report["routing"] = await bench.routing()
            if plan.nodes > 1 and not args.no_scale_out:
                report["scale_out"] = await bench.relay_target(Switchboard("json"), nodes=plan.nodes, idle=False)
        if args.growth or args.growth_only:
            report["growth"] = await bench.growth()
    except BaseException:
        log(f"failed; the servers' logs are in {tmp}")
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        bench.close()
        gc.enable()
    report["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["ratios"] = summarise(report)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Switchboard against a minimal relay and python-socketio")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, measures nothing")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    parser.add_argument("--protocols", default="json,msgpack", type=lambda s: s.split(","))
    parser.add_argument("--chats", type=int, help="concurrent chats for the relay figures")
    parser.add_argument("--baselines", default="minimal,socketio", type=lambda s: s.split(","),
                        help="which baselines to run (comma-separated; empty for none)")
    parser.add_argument("--no-routing", action="store_true")
    parser.add_argument("--no-scale-out", action="store_true")
    parser.add_argument("--routing-only", action="store_true", help="only the routing figure")
    parser.add_argument("--route-rate", type=int, help="chat starts per second for the routing figure")
    parser.add_argument("--profile", type=Path, help="py-spy each server during its saturated relay; stacks here")
    parser.add_argument("--growth", action="store_true", help="add the growth tables (a few minutes more)")
    parser.add_argument("--growth-only", action="store_true", help="only the growth tables")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    try:
        import uvloop
        report = uvloop.run(run(args, log))
    except ImportError:
        report = asyncio.run(run(args, log))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(table(report))
    print()
    print(json.dumps(report["ratios"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
