"""Chaos run: a steady load of chats across several nodes while nodes are
killed (-9, and now and then stopped with SIGTERM) and restarted at random.

    python loadtest/chaos.py --duration 60 --nodes 3 --customers 12 --agents 6

It starts its own redis-server (switchboard.embedded, AOF on) and its own
`switchboard serve` processes on 127.0.0.1. Customers and agents speak the
wire protocol with the `websockets` client; when their socket closes they
reconnect to a live node and resume by `seq`, and send again what was not
acknowledged, with the same client_msg_id. At the end the load stops, the
nodes are all brought back, and the run checks, from the conversation
histories, the `events` stream and what every client received:

- every acknowledged message is in its history exactly once, in the order it
  was sent (so a client, which shows a conversation in seq order, shows it in
  that order), and reached the other side: the customer (agents' messages)
  and the agent that had the session to its end (customers' messages);
- no socket carried an event twice, nor one at or below the `last_seq` its
  hello resumed from (what a client got again because it resumed from below
  is counted as `resent_on_resume`);
- every session ended exactly once;
- no agent ever held more sessions than its capacity.

It prints the figures as a table and as JSON (also written to --json) and
exits 1 when any check failed (2 when the run itself could not be set up).
`--redis-outage S` also kills Redis halfway and starts it again S seconds later.
Progress goes to standard error; the node logs stay in --workdir.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

from switchboard.embedded import EmbeddedRedis, find_redis_binary  # noqa: E402

ADMIN_TOKEN = "chaos-admin-token"
SECRET = "chaos-secret"
QUEUE = "chaos"
BOUND_S = 100  # the whole run ends by --duration plus this, or fails


STARTED = time.monotonic()


def progress(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- nodes


class Node:
    """One `switchboard serve` child process on a fixed port (kept across restarts)."""

    def __init__(self, index: int, redis_url: str, workdir: Path, env: dict[str, str]) -> None:
        self.index = index
        self.port = free_port()
        self.redis_url = redis_url
        self.workdir = workdir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.starting = False

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def start(self) -> None:
        log = open(self.workdir / f"node-{self.index}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switchboard", "serve", "--port", str(self.port),
             "--redis-url", self.redis_url, "--log-level", "warning"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"node {self.index} exited at start; see {self.workdir}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"node {self.index} did not get ready")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    async def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, 30)


# ---------------------------------------------------------------- clients


class Closed(Exception):
    """The socket closed (or an answer did not come) before the request was answered."""


class Connection:
    """One WebSocket: frames go to the actor; requests wait for their ack or error."""

    _refs = itertools.count(1)

    def __init__(self, ws: Any, actor: Actor, resume: dict[str, int]) -> None:
        self.ws = ws
        self.actor = actor
        self.resume = resume  # conversation -> the last_seq this socket's hello claimed
        self.carried: dict[str, set[int]] = defaultdict(set)  # seqs this socket delivered
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.closed = asyncio.get_running_loop().create_future()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                ref = frame.get("ref")
                if ref in self.pending and frame.get("type") in ("ack", "error"):
                    future = self.pending.pop(ref)
                    if not future.done():
                        future.set_result(frame)
                    continue
                self.actor.received(frame, self)
        except websockets.ConnectionClosed:
            pass
        finally:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(Closed())
                    future.exception()  # retrieved: nobody may wait for it any more
            self._mark_closed()

    async def request(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        ref = f"r{next(self._refs)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[ref] = future
        try:
            await self.ws.send(json.dumps({**frame, "ref": ref}))
        except websockets.ConnectionClosed:
            # Raised without yielding: mark the socket closed here, or a retry
            # loop would spin before the reader task could notice.
            self.pending.pop(ref, None)
            self._mark_closed()
            raise Closed() from None
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self.pending.pop(ref, None)
            self._mark_closed()  # no answer: this socket is not to be trusted again
            asyncio.ensure_future(self.ws.close())
            raise Closed() from None

    def _mark_closed(self) -> None:
        if not self.closed.done():
            self.closed.set_result(self.ws.close_code)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self.reader, return_exceptions=True)


class Actor:
    """A customer or an agent: reconnects to any live node and resumes by seq."""

    kind = ""

    def __init__(self, run: Run, name: str) -> None:
        self.run = run
        self.name = name
        self.conn: Connection | None = None
        self.have: dict[str, set[int]] = defaultdict(set)  # seqs received, per conversation (any socket)
        self.base: dict[str, int] = {}  # per conversation: no event up to this seq is owed to this actor
        self.seqs: dict[str, list[tuple[int, str]]] = defaultdict(list)  # (seq, type) in arrival order
        self.messages: Counter[str] = Counter()  # live or replayed `message` frames, by message_id
        self.snapshots: set[str] = set()  # message ids seen inside an offer's or assignment's thread
        self.connects = 0
        self.changed = asyncio.Event()

    def floor(self, cid: str) -> int:
        """What a resume claims: every event up to this seq is here (a client
        that resumed from its highest seq could miss one that was overtaken)."""
        n = self.base.get(cid, 0)
        have = self.have[cid]
        while n + 1 in have:
            n += 1
        return n

    def received(self, frame: dict[str, Any], conn: Connection) -> None:
        cid, seq = frame.get("conversation_id"), frame.get("seq")
        if cid is not None and seq is not None:
            # The server's promise: one socket carries each event once, and none
            # that its hello said the client had.
            if seq in conn.carried[cid]:
                self.run.violation(f"{self.name}: {cid} seq {seq} sent twice on one socket")
            if seq <= conn.resume.get(cid, -1):
                self.run.violation(f"{self.name}: {cid} seq {seq} sent though the resume said {conn.resume[cid]}")
            conn.carried[cid].add(seq)
            self.seqs[cid].append((seq, frame["type"]))
            if seq not in self.have[cid] and frame["type"] == "message":
                self.messages[frame["message_id"]] += 1  # the client shows each seq once
            self.have[cid].add(seq)
        for key in ("thread", "messages"):
            for m in frame.get(key) or []:
                if isinstance(m, dict) and m.get("message_id"):
                    self.snapshots.add(m["message_id"])
        self.on_frame(frame)
        self.changed.set()

    def on_frame(self, frame: dict[str, Any]) -> None:
        pass

    async def connect(self) -> dict[str, Any]:
        """Connects to a random live node; returns the welcome."""
        pause = 0.05
        while True:
            ports = self.run.live_ports() or self.run.all_ports()
            port = random.choice(ports)
            try:
                ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/{self.kind}",
                                              subprotocols=["switchboard.v1.json"], open_timeout=5)
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake):
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            self.welcome_frame = None
            hello = self.hello()
            conn = Connection(ws, self, dict(hello.get("resume") or {}))
            if "conversation_id" in conn.resume:  # a customer's resume
                conn.resume = {conn.resume["conversation_id"]: conn.resume["last_seq"]}
            try:
                await ws.send(json.dumps(hello))
                welcome = await asyncio.wait_for(self._welcome(conn), 10)
            except (Closed, websockets.ConnectionClosed, asyncio.TimeoutError):
                await conn.close()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            if self.conn is not None:
                self.run.figures["reconnects"] += 1
            self.conn = conn
            self.connects += 1
            return welcome

    async def _welcome(self, conn: Connection) -> dict[str, Any]:
        while self.welcome_frame is None:
            if conn.closed.done():
                raise Closed()
            self.changed.clear()
            waiter = asyncio.create_task(self.changed.wait())
            await asyncio.wait([waiter, conn.closed], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
        return self.welcome_frame

    def hello(self) -> dict[str, Any]:
        raise NotImplementedError

    async def request(self, frame: dict[str, Any], done=None) -> dict[str, Any]:
        """Sends until answered: through a new connection after a close, again
        after `unavailable` (the store was away). `done()`, asked after a
        reconnection, says whether the welcome showed the request took effect."""
        pause = 0.05
        while True:
            if self.conn is None or self.conn.closed.done():
                await self.on_reconnected(await self.connect())
                if done is not None and done():
                    return {"type": "ack", "seen_in_welcome": True}
            try:
                answer = await self.conn.request(frame)
            except Closed:
                continue
            if answer["type"] == "error" and answer["code"] in ("unavailable", "internal"):
                self.run.figures["unavailable_answers"] += 1
                await asyncio.sleep(pause)
                pause = min(pause * 2, 1.0)
                continue
            return answer

    async def on_reconnected(self, welcome: dict[str, Any]) -> None:
        pass

    async def wait_for(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass
            if self.conn is None or self.conn.closed.done():
                await self.on_reconnected(await self.connect())
        return True


class Customer(Actor):
    kind = "customer"

    def __init__(self, run: Run, name: str) -> None:
        super().__init__(run, name)
        self.visitor_token: str | None = None
        self.cid: str | None = None
        self.conversations: list[str] = []
        self.sent: list[tuple[str, str]] = []  # (conversation id, client_msg_id) acknowledged, in order
        self.replies: Counter[str] = Counter()  # agent messages received live, per conversation

    def hello(self) -> dict[str, Any]:
        hello: dict[str, Any] = {"type": "hello"}
        if self.visitor_token:
            hello["visitor_token"] = self.visitor_token
        if self.cid:
            hello["resume"] = {"conversation_id": self.cid, "last_seq": self.floor(self.cid)}
        return hello

    def on_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "welcome":
            self.welcome_frame = frame
            self.visitor_token = frame["visitor_token"]
        elif frame["type"] == "message" and frame["from"]["role"] == "agent":
            self.replies[frame["conversation_id"]] += 1

    async def on_reconnected(self, welcome: dict[str, Any]) -> None:
        card = welcome.get("conversation")
        if card and card["status"] not in ("closed", "ended", "wrap_up") and card["conversation_id"] != self.cid:
            # a start_chat whose ack was lost did create the chat
            self.adopt(card["conversation_id"])

    def adopt(self, cid: str) -> None:
        self.cid = cid
        if cid not in self.conversations:
            self.conversations.append(cid)

    async def chat(self, messages: int) -> None:
        self.cid = None
        if self.conn is None:
            await self.connect()
        # start_chat has no idempotency key: after a lost ack the welcome shows the chat
        answer = await self.request({"type": "start_chat", "queue": QUEUE}, done=lambda: self.cid is not None)
        if answer["type"] == "error":
            self.run.violation(f"{self.name}: start_chat refused: {answer}")
            return
        if self.cid is None:
            self.adopt(answer["conversation_id"])
        self.run.figures["chats"] += 1
        cid = self.cid
        for n in range(messages):
            cmid = f"{self.name}-{len(self.sent)}-{n}"
            replies = self.replies[cid]
            answer = await self.request({"type": "message", "text": f"{self.name} #{n}", "client_msg_id": cmid})
            if answer["type"] != "ack":
                self.run.violation(f"{self.name}: message refused: {answer}")
                continue
            self.sent.append((cid, cmid))
            self.run.figures["messages_acked"] += 1
            # the agent answers every message; wait for it for a while
            await self.wait_for(lambda: self.replies[cid] > replies, timeout=8)
            await asyncio.sleep(random.uniform(0.05, 0.3))
        answer = await self.request({"type": "end_chat"})
        if answer["type"] == "error" and answer["code"] != "conflict":
            self.run.violation(f"{self.name}: end_chat refused: {answer}")

    async def live(self, until: float) -> None:
        while time.monotonic() < until:
            await self.chat(random.randint(2, 5))
            await asyncio.sleep(random.uniform(0.1, 0.5))


class Agent(Actor):
    kind = "agent"

    def __init__(self, run: Run, name: str, token: str, capacity: int) -> None:
        super().__init__(run, name)
        self.token = token
        self.capacity = capacity
        self.work: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.held: set[str] = set()
        self.answered: set[str] = set()
        self.sent: list[tuple[str, str]] = []
        self.replies = itertools.count()
        self.sent_resume: dict[str, int] = {}

    def hello(self) -> dict[str, Any]:
        self.sent_resume = {cid: self.floor(cid) for cid in self.held}
        return {"type": "hello", "token": self.token, "resume": self.sent_resume}

    def on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "welcome":
            self.welcome_frame = frame
        elif kind == "offer":
            self.work.put_nowait(("accept", frame["offer_id"]))
        elif kind == "conversation.assigned":
            cid = frame["conversation_id"]
            self.held.add(cid)
            seqs = [m["seq"] for m in frame.get("messages") or [] if isinstance(m.get("seq"), int)]
            if seqs:  # the thread so far came with it: nothing before is owed
                self.base[cid] = max(self.base.get(cid, 0), max(seqs))
            for m in frame.get("messages") or []:  # written while the chat waited: answered now
                if m.get("type") == "message" and m["from"]["role"] == "customer" and m["message_id"] not in self.answered:
                    self.answered.add(m["message_id"])
                    self.work.put_nowait(("reply", frame["conversation_id"]))
        elif kind == "message" and frame["from"]["role"] == "customer":
            if frame["message_id"] not in self.answered:
                self.answered.add(frame["message_id"])
                self.work.put_nowait(("reply", frame["conversation_id"]))
        elif kind == "chat.ended":
            self.work.put_nowait(("wrap_up", frame["conversation_id"]))
        elif kind in ("conversation.closed", "chat.transferred"):
            self.held.discard(frame["conversation_id"])

    async def on_reconnected(self, welcome: dict[str, Any]) -> None:
        self.held = {c["conversation_id"] for c in welcome["conversations"]}
        unknown = [cid for cid in self.held if cid not in self.sent_resume]
        if unknown:
            # Held, but its assignment was never seen (pushed while this socket's
            # node was cut off from Redis): its history is fetched, as the desk does.
            await self.fetch_history(unknown)
        for card in welcome["conversations"]:
            if card["status"] == "wrap_up":
                self.work.put_nowait(("wrap_up", card["conversation_id"]))
        for offer in welcome["offers"]:
            self.work.put_nowait(("accept", offer["offer_id"]))
        if welcome["state"]["state"] != "available":
            self.work.put_nowait(("available", None))

    async def fetch_history(self, cids: list[str]) -> None:
        """A second, short socket replays the conversations from seq 0; the
        answer to a command sent after the hello marks the end of the replay."""
        self.run.figures["histories_fetched"] += len(cids)
        port = random.choice(self.run.live_ports() or self.run.all_ports())
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/agent", subprotocols=["switchboard.v1.json"],
                                          open_timeout=5) as ws:
                await ws.send(json.dumps({"type": "hello", "token": self.token, "resume": {c: 0 for c in cids}}))
                await ws.send(json.dumps({"type": "unmonitor", "conversation_id": "end", "ref": "history-end"}))
                async with asyncio.timeout(10):
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame.get("ref") == "history-end":
                            break
                        if frame.get("conversation_id") in cids and isinstance(frame.get("seq"), int):
                            cid = frame["conversation_id"]
                            self.base[cid] = max(self.base.get(cid, 0), frame["seq"])
                        if frame.get("conversation_id") in cids and frame.get("type") == "message":
                            self.snapshots.add(frame["message_id"])
                            if frame["from"]["role"] == "customer" and frame["message_id"] not in self.answered:
                                self.answered.add(frame["message_id"])
                                self.work.put_nowait(("reply", frame["conversation_id"]))
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
            pass  # the next reconnection tries again

    async def live(self, stop: asyncio.Event) -> None:
        await self.on_reconnected(await self.connect())
        while not stop.is_set():
            try:
                job, arg = await asyncio.wait_for(self.work.get(), 0.5)
            except asyncio.TimeoutError:
                if self.conn is None or self.conn.closed.done():
                    await self.on_reconnected(await self.connect())
                continue
            if job == "available":
                await self.request({"type": "set_state", "state": "available"})
            elif job == "accept":
                await self.request({"type": "accept", "offer_id": arg})  # a revoked offer: not_found
            elif job == "reply":
                cmid = f"{self.name}-{next(self.replies)}"
                answer = await self.request({"type": "message", "conversation_id": arg, "text": f"re {cmid}",
                                             "client_msg_id": cmid})
                if answer["type"] == "ack":
                    self.sent.append((arg, cmid))
                    self.run.figures["messages_acked"] += 1
            elif job == "wrap_up":
                await self.request({"type": "wrap_up", "conversation_id": arg, "code": "resolved"})


# ---------------------------------------------------------------- the run


@dataclass
class Run:
    args: argparse.Namespace
    redis: EmbeddedRedis
    nodes: list[Node] = field(default_factory=list)
    figures: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    welcome_frame: Any = None
    restarts: list[asyncio.Future[None]] = field(default_factory=list)

    def live_ports(self) -> list[int]:
        return [n.port for n in self.nodes if n.up]

    def all_ports(self) -> list[int]:
        return [n.port for n in self.nodes]

    def violation(self, text: str) -> None:
        self.violations.append(text)

    async def chaos(self, until: float) -> None:
        """Kills (mostly -9) and restarts nodes at random; at least one stays up."""
        rng = random.Random(self.args.seed + 1)
        while True:
            pause = rng.uniform(self.args.kill_every * 0.5, self.args.kill_every * 1.5)
            if time.monotonic() + pause >= until:
                return
            await asyncio.sleep(pause)
            up = [n for n in self.nodes if n.up]
            if len(up) < 2:
                continue
            victim = rng.choice(up)
            if rng.random() < self.args.sigterm_share:
                code = await victim.terminate()
                self.figures["sigterms"] += 1
                if code != 0:
                    self.violation(f"node {victim.index} exited {code} after SIGTERM")
            else:
                victim.kill()
                self.figures["kills"] += 1
            progress(f"node {victim.index} stopped ({self.figures['kills']} kills, {self.figures['sigterms']} sigterms)")
            asyncio.get_running_loop().call_later(
                rng.uniform(0.5, 3.0), lambda n=victim: self.restarts.append(asyncio.ensure_future(self.restart(n))))

    async def redis_outage(self, at: float) -> None:
        """Kills Redis with -9 at `at` and starts it again (same data) after --redis-outage seconds."""
        await asyncio.sleep(max(at - time.monotonic(), 0))
        os.kill(self.redis.pid, signal.SIGKILL)
        self.redis.stop()  # reaps it
        self.figures["redis_kills"] += 1
        await asyncio.sleep(self.args.redis_outage)
        self.redis.start()  # from the main thread, see main_async
        await set_fsync_always(self.redis.url)

    async def restart(self, node: Node) -> None:
        """Starts the node again; when its port was taken meanwhile (other
        programs run on this machine too), on another port."""
        if node.up or node.starting:
            return
        node.starting = True
        try:
            for attempt in range(3):
                try:
                    await node.start()
                    self.figures["restarts"] += 1
                    return
                except RuntimeError as exc:
                    progress(f"restart of node {node.index} failed ({exc}); trying another port")
                    if node.up:
                        node.kill()
                    node.port = free_port()
            self.violation(f"node {node.index} could not be started again")
        finally:
            node.starting = False


async def finish(run: Run, tasks: list[asyncio.Task[None]], timeout: float, what: str) -> None:
    """Waits for the tasks; one still running after `timeout` is a violation (and is cancelled)."""
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in done:
        if task.exception() is not None:
            run.violation(f"{what}: {task.exception()!r}")
    for task in pending:
        run.violation(what)
        task.cancel()


async def set_fsync_always(url: str) -> None:
    """Every acknowledged write survives a kill -9 of Redis."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    await client.config_set("appendfsync", "always")
    await client.aclose()


async def admin(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    response = await http.request(method, path, json=body)
    response.raise_for_status()
    return response.json()


async def all_events(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = ""
    while True:
        page = await admin(http, "GET", f"/api/v1/events?limit=1000{'&after=' + after if after else ''}")
        events += page["events"]
        if not page.get("next") or not page["events"]:
            return events
        after = page["next"]


def check(run: Run, customers: list[Customer], agents: list[Agent], histories: dict[str, list[dict[str, Any]]],
          events: list[dict[str, Any]]) -> None:
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
        for cid, received in actor.seqs.items():
            seqs = [seq for seq, _ in received]
            run.figures["resent_on_resume"] += len(seqs) - len(set(seqs))  # asked again by a resume
            # Clients show a conversation in seq order (the contract's order; the
            # history check above makes it the order of sending). Messages that
            # first arrived out of it are counted: a replay after a resume can
            # bring an older one after a newer live one.
            messages = list(dict.fromkeys(seq for seq, kind in received if kind == "message"))
            inverted = sum(1 for a, b in zip(messages, messages[1:]) if b < a)
            run.figures["message_inversions"] += inverted
            if inverted:
                print(f"  (messages first received out of seq order by {actor.name}: {messages[:12]})")
            # Other events of two steps run at the same moment (on two nodes, say)
            # may be pushed out of seq order; clients order them by seq.
            run.figures["event_inversions"] += sum(1 for a, b in zip(seqs, seqs[1:]) if b < a)
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


async def main_async(args: argparse.Namespace) -> int:
    random.seed(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="chaos-", dir=args.workdir))
    redis = EmbeddedRedis(workdir / "redis", binary=find_redis_binary(), port=free_port())
    # From this (the main) thread: the server gets SIGTERM when its spawning thread ends.
    redis_url = redis.start()
    await set_fsync_always(redis_url)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH")])),
           "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN, "SWITCHBOARD_SECRET": SECRET,
           "SWITCHBOARD_DATA_DIR": str(workdir / "data"), "SWITCHBOARD_TIMER_TICK_S": "0.1",
           "SWITCHBOARD_NODE_TTL_S": str(args.node_ttl), "SWITCHBOARD_DISCONNECT_GRACE_S": str(args.grace),
           "SWITCHBOARD_SHUTDOWN_DRAIN_S": "3",
           # every client here comes from 127.0.0.1: the per-address limits would count them as one
           "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN": "0", "SWITCHBOARD_SOCKETS_PER_IP": "0"}
    run = Run(args, redis, [Node(i, redis_url, workdir, env) for i in range(args.nodes)])
    began = time.monotonic()
    try:
        await asyncio.gather(*(n.start() for n in run.nodes))
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.nodes[0].port}",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
        await admin(http, "PUT", f"/api/v1/queues/{QUEUE}", {"name": "Chaos", "offer_timeout_s": 5,
                                                             "wrap_up_timeout_s": 60})
        agents = []
        for i in range(args.agents):
            name = f"agent{i:02d}"
            await admin(http, "PUT", f"/api/v1/agents/{name}", {"display_name": name, "languages": ["en"],
                                                                "queues": [QUEUE], "capacity": args.capacity})
            token = (await admin(http, "POST", f"/api/v1/agents/{name}/token"))["token"]
            agents.append(Agent(run, name, token, args.capacity))
        customers = [Customer(run, f"cust{i:02d}") for i in range(args.customers)]

        stop_agents = asyncio.Event()
        agent_tasks = [asyncio.create_task(a.live(stop_agents)) for a in agents]
        until = time.monotonic() + args.duration
        chaos = [asyncio.create_task(run.chaos(until))]
        if args.redis_outage:
            chaos.append(asyncio.create_task(run.redis_outage(time.monotonic() + args.duration / 2)))
        customer_tasks = [asyncio.create_task(c.live(until)) for c in customers]
        progress("load and chaos running")
        await asyncio.gather(*chaos)
        progress("chaos over; customers finish their chats")
        await finish(run, customer_tasks, 45, "customer did not finish its last chat")
        progress("customers done; every node back")
        await asyncio.gather(*run.restarts)
        await asyncio.gather(*(run.restart(n) for n in run.nodes))
        await http.aclose()  # its node may have another port now
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{run.nodes[0].port}",
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)

        async def settled() -> bool:
            agent_states = [await admin(http, "GET", f"/api/v1/agents/{a.name}") for a in agents]
            return all(not a.held for a in agents) and all(s["connected"] for s in agent_states)

        deadline = time.monotonic() + 30
        while not await settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        progress("settled; checking")
        await asyncio.sleep(1.0)  # pushes in flight reach their sockets
        stop_agents.set()
        await finish(run, agent_tasks, 15, "agent did not stop")

        histories = {}
        for cid in {cid for c in customers for cid in c.conversations}:
            histories[cid] = (await admin(http, "GET", f"/api/v1/conversations/{cid}"))["messages"]
        events = await all_events(http)
        check(run, customers, agents, histories, events)
        for actor in [*customers, *agents]:
            if actor.conn:
                await actor.conn.close()
        await http.aclose()
    finally:
        for node in run.nodes:
            if node.up:
                node.kill()
        redis.stop()
    figures = {
        "duration_s": round(time.monotonic() - began, 1), "nodes": args.nodes, "customers": args.customers,
        "agents": args.agents, "chats": run.figures["chats"], "sessions": run.figures["sessions"],
        "messages_acked": run.figures["messages_acked"], "deliveries_checked": run.figures["deliveries_checked"],
        "kills": run.figures["kills"], "sigterms": run.figures["sigterms"], "restarts": run.figures["restarts"],
        "redis_kills": run.figures["redis_kills"],
        "reconnects": run.figures["reconnects"], "unavailable_answers": run.figures["unavailable_answers"],
        "event_inversions": run.figures["event_inversions"], "resent_on_resume": run.figures["resent_on_resume"],
        "message_inversions": run.figures["message_inversions"], "histories_fetched": run.figures["histories_fetched"],
        "peak_sessions_per_agent": run.figures["peak_sessions_per_agent"], "capacity": args.capacity,
        "violations": len(run.violations),
    }
    width = max(map(len, figures))
    print("\nchaos run")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    for text in run.violations[:50]:
        print(f"  VIOLATION {text}")
    print(json.dumps({**figures, "violation_samples": run.violations[:50]}))
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, "violation_samples": run.violations}, indent=2))
    print(f"(logs in {workdir})")
    return 1 if run.violations else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load and chaos (default 60)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--capacity", type=int, default=2, help="sessions per agent")
    parser.add_argument("--kill-every", type=float, default=5.0, help="mean seconds between two kills")
    parser.add_argument("--sigterm-share", type=float, default=0.2, help="share of stops by SIGTERM, not -9")
    parser.add_argument("--node-ttl", type=float, default=2.0, help="SWITCHBOARD_NODE_TTL_S of the nodes")
    parser.add_argument("--grace", type=float, default=15.0, help="SWITCHBOARD_DISCONNECT_GRACE_S of the nodes")
    parser.add_argument("--redis-outage", type=float, default=0,
                        help="halfway through, kill Redis (-9) and restart it after this many seconds (0: never)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=None, help="where the run's Redis data and node logs go")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2 (one stays up while another is killed)")
    # Should the event loop itself get stuck, this thread prints every stack and ends the run.
    faulthandler.dump_traceback_later(args.duration + BOUND_S + 30, exit=True)
    try:
        return asyncio.run(asyncio.wait_for(main_async(args), args.duration + BOUND_S))
    except (asyncio.TimeoutError, TimeoutError):
        print(f"chaos: the run did not finish within {args.duration + BOUND_S:.0f} s", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
