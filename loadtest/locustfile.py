"""Locust users for Switchboard: customers and agents over real WebSockets.

Each user holds one `websocket-client` connection (gevent makes its blocking
calls cooperative) and reports every round trip through
`environment.events.request.fire`, so Locust's tables and charts show them
beside any HTTP figures:

- `CustomerUser`: opens the widget socket (hello -> welcome), starts a chat
  (start_chat -> ack), waits for an agent (start_chat -> chat.connected, named
  `connected`), writes a few messages with think times (message -> ack), ends
  the chat (end_chat -> ack) and answers the satisfaction survey (csat -> ack).
- `AgentUser`: signs in (hello -> welcome), goes available, accepts every offer
  (accept -> ack), answers each customer message after a think time
  (`reply`: message -> ack; `reply refused (forbidden)` when the customer ended
  the chat meanwhile; `relay` is customer message ts -> arrival at the agent),
  and wraps up each ended chat (wrap_up -> ack).

The agents and the queue are created through the HTTP API with the admin token
(`SWITCHBOARD_ADMIN_TOKEN`), so run it against a node you administer. Headless,
against a local node (`SWITCHBOARD_ADMIN_TOKEN=dev switchboard serve`):

    SWITCHBOARD_ADMIN_TOKEN=dev locust -f loadtest/locustfile.py --headless -u 200 -r 20 -t 2m --host http://127.0.0.1:8000

and against a remote one (TLS: the ws URL follows the host's scheme, https -> wss):

    SWITCHBOARD_ADMIN_TOKEN=... locust -f loadtest/locustfile.py --headless -u 2000 -r 50 -t 10m --host https://chat.example.com

Every user of one load machine comes from one address: raise the nodes'
`SWITCHBOARD_SOCKETS_PER_IP`, `SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN` and
`SWITCHBOARD_HTTP_REQUESTS_PER_S` (0 lifts them) for the run, or use several
machines.

Environment: `LOAD_QUEUE` (default `loadtest`), `LOAD_PROTOCOL` (`json` or
`msgpack`), `LOAD_MESSAGES` (customer messages per chat, default 5),
`LOAD_THINK_MIN_S` / `LOAD_THINK_MAX_S` (think time, default 2 to 8 s),
`LOAD_AGENT_CAPACITY` (default 3), `LOAD_WAIT_S` (how long a customer waits
for an agent, default 60). Customers and agents spawn 4:1 by default
(`LOAD_CUSTOMERS_PER_AGENT`).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
import msgspec
import requests
import websocket
from locust import User, between, events, task
from locust.env import Environment
from locust.exception import StopUser

QUEUE = os.environ.get("LOAD_QUEUE", "loadtest")
PROTOCOL = os.environ.get("LOAD_PROTOCOL", "json")
MESSAGES = int(os.environ.get("LOAD_MESSAGES", "5"))
THINK_MIN = float(os.environ.get("LOAD_THINK_MIN_S", "2"))
THINK_MAX = float(os.environ.get("LOAD_THINK_MAX_S", "8"))
CAPACITY = int(os.environ.get("LOAD_AGENT_CAPACITY", "3"))
WAIT_S = float(os.environ.get("LOAD_WAIT_S", "60"))
CUSTOMERS_PER_AGENT = int(os.environ.get("LOAD_CUSTOMERS_PER_AGENT", "4"))
TIMEOUT_S = 30.0


def admin_token() -> str:
    token = os.environ.get("SWITCHBOARD_ADMIN_TOKEN")
    if not token:
        raise SystemExit("set SWITCHBOARD_ADMIN_TOKEN: the load test creates its queue and agents")
    return token


def admin() -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {admin_token()}"
    return session


@events.test_start.add_listener
def create_queue(environment: Environment, **_: Any) -> None:
    if environment.host is None:
        return
    http = admin()
    response = http.put(
        f"{environment.host.rstrip('/')}/api/v1/queues/{QUEUE}",
        json={
            "name": "Load test",
            "offer_timeout_s": 60,
            "wrap_up_codes": [{"code": "done", "label": "Done"}],
        },
        timeout=TIMEOUT_S,
    )
    response.raise_for_status()


class Socket:
    """One Switchboard WebSocket: frames in the chosen encoding, and round trips
    timed and reported to Locust."""

    def __init__(self, user: User, path: str) -> None:
        self.user = user
        host = user.host.rstrip("/")
        url = ("wss://" + host[8:] if host.startswith("https://") else "ws://" + host.removeprefix("http://")) + path
        self.binary = PROTOCOL == "msgpack"
        self.ws = websocket.create_connection(url, timeout=TIMEOUT_S, subprotocols=[f"switchboard.v1.{PROTOCOL}"])
        self.backlog: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        if self.binary:
            self.ws.send_binary(msgspec.msgpack.encode(frame))
        else:
            self.ws.send(json.dumps(frame))

    def recv(self, timeout: float) -> dict[str, Any]:
        self.ws.settimeout(timeout)
        raw = self.ws.recv()
        return msgspec.msgpack.decode(raw) if isinstance(raw, bytes) and self.binary else json.loads(raw)

    def expect(self, match: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT_S) -> dict[str, Any]:
        """The first frame that matches; others stay in the backlog for `next_frame`."""
        for i, frame in enumerate(self.backlog):
            if match(frame):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no matching frame in time")
            frame = self.recv(remaining)
            if match(frame):
                return frame
            self.backlog.append(frame)

    def next_frame(self, timeout: float) -> dict[str, Any]:
        return self.backlog.pop(0) if self.backlog else self.recv(timeout)

    def report(self, name: str, started: float, length: int = 0, exception: Exception | None = None) -> None:
        self.user.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=exception,
            context={},
        )

    def call(
        self, name: str, frame: dict[str, Any], timeout: float = TIMEOUT_S, expected: frozenset[str] = frozenset()
    ) -> dict[str, Any] | None:
        """Sends a command with a ref and reports its answer's round trip; None on failure.
        An error whose code is `expected` is a legitimate answer, reported as
        `<name> refused (<code>)` and not as a failure."""
        ref = uuid.uuid4().hex[:12]
        started = time.perf_counter()
        try:
            self.send({**frame, "ref": ref})
            answer = self.expect(lambda f: f.get("ref") == ref, timeout)
        except Exception as exc:
            self.report(name, started, exception=exc)
            return None
        if answer.get("type") != "ack":
            if answer.get("code") in expected:
                self.report(f"{name} refused ({answer['code']})", started)
            else:
                self.report(name, started, exception=RuntimeError(f"{answer.get('code')}: {answer.get('message')}"))
            return None
        self.report(name, started)
        return answer

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass


def think() -> float:
    return random.uniform(THINK_MIN, THINK_MAX)


class CustomerUser(User):
    """A website visitor: one chat after another, each with a few messages."""

    weight = CUSTOMERS_PER_AGENT
    wait_time = between(THINK_MIN, THINK_MAX)

    @task
    def chat(self) -> None:
        started = time.perf_counter()
        try:
            sock = Socket(self, "/ws/customer")
            sock.send({"type": "hello"})
            sock.expect(lambda f: f["type"] == "welcome")
        except Exception as exc:
            self.environment.events.request.fire(
                request_type="WS",
                name="hello",
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=exc,
                context={},
            )
            return
        sock.report("hello", started)
        try:
            self._converse(sock)
        finally:
            sock.close()

    def _converse(self, sock: Socket) -> None:
        started = time.perf_counter()
        if sock.call("start_chat", {"type": "start_chat", "queue": QUEUE, "text": "Hello, I have a question"}) is None:
            return
        try:
            sock.expect(lambda f: f["type"] == "chat.connected", WAIT_S)
        except Exception as exc:
            sock.report("connected", started, exception=exc)
            sock.call("end_chat", {"type": "end_chat"})
            return
        sock.report("connected", started)
        for i in range(MESSAGES):
            gevent.sleep(think())
            if sock.call("message", {"type": "message", "text": f"customer line {i} {time.time_ns()}"}) is None:
                return
        gevent.sleep(think())
        if sock.call("end_chat", {"type": "end_chat"}) is None:
            return
        sock.expect(lambda f: f["type"] == "csat.requested")
        sock.call("csat", {"type": "csat", "rating": random.randint(1, 5), "comment": "load test"})


class AgentUser(User):
    """An agent at the desk: available, accepts offers, answers, wraps up."""

    weight = 1
    wait_time = between(0, 0)
    _count = 0

    def on_start(self) -> None:
        AgentUser._count += 1
        self.agent_id = f"load-{os.getpid()}-{AgentUser._count}-{uuid.uuid4().hex[:6]}"
        host = self.host.rstrip("/")
        http = admin()
        http.put(
            f"{host}/api/v1/agents/{self.agent_id}",
            json={
                "display_name": f"Load agent {AgentUser._count}",
                "languages": ["en"],
                "skills": [],
                "queues": [QUEUE],
                "capacity": CAPACITY,
            },
            timeout=TIMEOUT_S,
        ).raise_for_status()
        response = http.post(f"{host}/api/v1/agents/{self.agent_id}/token", timeout=TIMEOUT_S)
        response.raise_for_status()
        started = time.perf_counter()
        self.sock = Socket(self, "/ws/agent")
        self.sock.send({"type": "hello", "token": response.json()["token"]})
        self.sock.expect(lambda f: f["type"] == "welcome")
        self.sock.report("agent hello", started)
        self.sock.call("set_state", {"type": "set_state", "state": "available"})
        self.replies: list[tuple[float, str]] = []  # (when, conversation) answers still to write

    def on_stop(self) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:
            sock.call("set_state", {"type": "set_state", "state": "offline"}, timeout=5)
            sock.close()

    @task
    def work(self) -> None:
        due = min((when for when, _ in self.replies), default=None)
        timeout = 1.0 if due is None else max(0.01, min(1.0, due - time.monotonic()))
        try:
            frame = self.sock.next_frame(timeout)
        except websocket.WebSocketTimeoutException:
            frame = None
        except websocket.WebSocketConnectionClosedException as exc:
            raise StopUser() from exc
        if frame is not None:
            self._on_frame(frame)
        now = time.monotonic()
        for when, cid in [r for r in self.replies if r[0] <= now]:
            self.replies.remove((when, cid))
            # The customer may have ended the chat while this answer was on its way:
            # the server then refuses it (forbidden), which is right.
            self.sock.call(
                "reply",
                {"type": "message", "conversation_id": cid, "text": f"agent answer {time.time_ns()}"},
                expected=frozenset({"forbidden"}),
            )

    def _on_frame(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "offer":
            self.sock.call("accept", {"type": "accept", "offer_id": frame["offer_id"]})
        elif kind == "message" and frame.get("from", {}).get("role") == "customer":
            self.environment.events.request.fire(
                request_type="WS",
                name="relay",
                response_time=max(0, time.time() * 1000 - frame["ts"]),
                response_length=len(frame.get("text", "")),
                exception=None,
                context={},
            )
            self.replies.append((time.monotonic() + think() / 2, frame["conversation_id"]))
        elif kind == "chat.ended":
            cid = frame["conversation_id"]
            self.replies = [r for r in self.replies if r[1] != cid]
            self.sock.call("wrap_up", {"type": "wrap_up", "conversation_id": cid, "code": "done"})
