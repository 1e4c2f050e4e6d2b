"""The nodes of a chaos run as real processes, the Redis under them, and the chaos done to both."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from switchboard.embedded import EmbeddedRedis
from switchboard.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]

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
            [
                sys.executable,
                "-m",
                "switchboard",
                "serve",
                "--port",
                str(self.port),
                "--redis-url",
                self.redis_url,
                "--log-level",
                "warning",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
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
    postgres: EmbeddedPostgres | None = None
    #: every acknowledged message: (conversation, client_msg_id, seq from the ack, text)
    acks: list[tuple[str, str, int | None, str]] = field(default_factory=list)

    def acked(self, cid: str, cmid: str, seq: int | None, text: str) -> None:
        self.acks.append((cid, cmid, seq, text))
        self.figures["messages_acked"] += 1

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
            progress(
                f"node {victim.index} stopped ({self.figures['kills']} kills, {self.figures['sigterms']} sigterms)"
            )
            asyncio.get_running_loop().call_later(
                rng.uniform(0.5, 3.0), lambda n=victim: self.restarts.append(asyncio.ensure_future(self.restart(n)))
            )

    async def redis_outage(self, at: float) -> None:
        """Kills Redis with -9 at `at` and starts it again (same data) after --redis-outage seconds."""
        await asyncio.sleep(max(at - time.monotonic(), 0))
        os.kill(self.redis.pid, signal.SIGKILL)
        self.redis.stop()  # reaps it
        self.figures["redis_kills"] += 1
        progress("Redis killed (-9)")
        await asyncio.sleep(self.args.redis_outage)
        self.redis.start()  # from the main thread, see main_async
        await set_fsync_always(self.redis.url)
        progress("Redis back")

    async def postgres_outages(self, began: float) -> None:
        """Kills PostgreSQL with -9 --postgres-kills times, spread over the run (at 1/3 of
        it for one kill, away from the Redis outage at 1/2), and starts it again on the
        same data directory --postgres-outage seconds later (crash recovery runs then)."""
        assert self.postgres is not None
        kills = self.args.postgres_kills
        for i in range(kills):
            at = began + self.args.duration * (2 * i + 1) / (2 * kills + 1)
            await asyncio.sleep(max(at - time.monotonic(), 0))
            self.postgres.kill()
            self.figures["postgres_kills"] += 1
            progress(f"PostgreSQL killed (-9), {self.figures['postgres_kills']} of {kills}")
            await asyncio.sleep(self.args.postgres_outage)
            started = time.monotonic()
            self.postgres.start()  # from the main thread, as Redis (see main_async)
            progress(f"PostgreSQL back after crash recovery ({time.monotonic() - started:.1f} s to start)")

    async def restart(self, node: Node) -> None:
        """Starts the node again; when its port was taken meanwhile (other
        programs run on this machine too), on another port."""
        if node.up or node.starting:
            return
        node.starting = True
        try:
            for _attempt in range(3):
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


async def set_fsync_always(url: str) -> None:
    """Every acknowledged write survives a kill -9 of Redis."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    await client.config_set("appendfsync", "always")
    await client.aclose()
