"""What the bench measures: Switchboard and the two baseline relays, started and driven the same way."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path
from typing import Any

import httpx

from .connections import Conn, open_ws
from .plan import ADMIN_TOKEN, CAPACITY_ENV, SECRET, json_decode, json_encode, msgpack_decode, msgpack_encode
from .processes import Server, child_env, free_port

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
    """Switchboard nodes on the bench's Redis and PostgreSQL (`database_url`: every node on a
    shared Redis needs one); `env` adds settings (SWITCHBOARD_...) for this target only."""

    def __init__(
        self, protocol: str = "json", database_url: str | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.protocol = protocol
        self.database_url = database_url
        self.extra_env = env or {}
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
            env = child_env(
                {
                    "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
                    "SWITCHBOARD_SECRET": SECRET,
                    "SWITCHBOARD_DATA_DIR": str(workdir / "sb-data"),
                    **({"SWITCHBOARD_DATABASE_URL": self.database_url} if self.database_url else {}),
                    **CAPACITY_ENV,
                    **self.extra_env,
                }
            )
            args = [
                sys.executable,
                "-m",
                "switchboard",
                "serve",
                "--port",
                str(port),
                "--redis-url",
                redis_url,
                "--log-level",
                "warning",
            ]
            self.servers.append(Server(f"{self.name}:{port}", args, port, env, workdir / f"sb-{port}.log"))
        for server in self.servers:
            await server.ready("/readyz")
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.servers[0].port}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )
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
                body = {
                    "display_name": f"Agent {i}",
                    "languages": ["en"],
                    "skills": skills or [],
                    "queues": [queue],
                    "capacity": capacity,
                }
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
        args = [
            sys.executable,
            "-m",
            f"loadtest.baselines.{self.module}",
            "--port",
            str(port),
            "--redis-url",
            redis_url,
        ]
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
