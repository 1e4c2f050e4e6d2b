"""Customers and agents that speak the wire protocol, reconnect and resume as the widget and the desk do."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter, defaultdict
from typing import Any

import websockets

from .nodes import QUEUE, Run

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
        except TimeoutError:
            self.pending.pop(ref, None)
            self._mark_closed()  # no answer: this socket is not to be trusted again
            asyncio.ensure_future(self.ws.close())  # noqa: RUF006 (nobody waits for a socket given up)
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
                ws = await websockets.connect(
                    f"ws://127.0.0.1:{port}/ws/{self.kind}", subprotocols=["switchboard.v1.json"], open_timeout=5
                )
            except (TimeoutError, OSError, websockets.InvalidHandshake):
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
            except (TimeoutError, Closed, websockets.ConnectionClosed):
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
            except TimeoutError:
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
            text = f"{self.name} #{n} {cmid}"  # unique: the PostgreSQL check finds it by text too
            answer = await self.request({"type": "message", "text": text, "client_msg_id": cmid})
            if answer["type"] != "ack":
                self.run.violation(f"{self.name}: message refused: {answer}")
                continue
            self.sent.append((cid, cmid))
            self.run.acked(cid, cmid, answer.get("seq"), text)
            # the agent answers every message; wait for it for a while
            await self.wait_for(lambda seen=replies: self.replies[cid] > seen, timeout=8)
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
                if (
                    m.get("type") == "message"
                    and m["from"]["role"] == "customer"
                    and m["message_id"] not in self.answered
                ):
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
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/agent", subprotocols=["switchboard.v1.json"], open_timeout=5
            ) as ws:
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
        except (TimeoutError, OSError, websockets.WebSocketException):
            pass  # the next reconnection tries again

    async def live(self, stop: asyncio.Event) -> None:
        await self.on_reconnected(await self.connect())
        while not stop.is_set():
            try:
                job, arg = await asyncio.wait_for(self.work.get(), 0.5)
            except TimeoutError:
                if self.conn is None or self.conn.closed.done():
                    await self.on_reconnected(await self.connect())
                continue
            if job == "available":
                await self.request({"type": "set_state", "state": "available"})
            elif job == "accept":
                await self.request({"type": "accept", "offer_id": arg})  # a revoked offer: not_found
            elif job == "reply":
                cmid = f"{self.name}-{next(self.replies)}"
                text = f"re {cmid}"
                answer = await self.request(
                    {"type": "message", "conversation_id": arg, "text": text, "client_msg_id": cmid}
                )
                if answer["type"] == "ack":
                    self.sent.append((arg, cmid))
                    self.run.acked(arg, cmid, answer.get("seq"), text)
            elif job == "wrap_up":
                await self.request({"type": "wrap_up", "conversation_id": arg, "code": "resolved"})
