"""Real child processes for the scale-out and fault tests: server nodes
(`python -m switchboard serve`) and dedicated Redis servers that a test may
kill and restart without disturbing the session's Redis."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import ADMIN_TOKEN, SECRET, free_port, suite_node_env
from support import Client, LocalAddresses, eventually, hello_agent, hello_customer
from switchboard.embedded import EmbeddedRedis


class ServerProcess(LocalAddresses):
    """`python -m switchboard serve` as a real child process. Without a database URL it
    runs the embedded PostgreSQL in `tmp_path`, as the `postgres` user when the suite runs
    as root: `tmp_path` must then be a folder that user can reach (see `reachable_folder`)."""

    def __init__(
        self,
        tmp_path: Path,
        redis_url: str | None = None,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
    ) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.database_url = database_url
        self.env = {
            **os.environ,
            "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SWITCHBOARD_SECRET": SECRET,
            "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
            **suite_node_env(),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = None

    @property
    def log_path(self) -> Path:
        return self.tmp_path / f"server-{self.port}.log"

    async def start(self, ready: bool = True) -> None:
        """Starts the process; waits until it is ready (or, with `ready=False`,
        until it serves HTTP at all: `/healthz`)."""
        probe = "/readyz" if ready else "/healthz"
        args = [sys.executable, "-m", "switchboard", "serve", "--port", str(self.port), "--log-level", "warning"]
        if self.redis_url:
            args += ["--redis-url", self.redis_url]
        if self.database_url:
            args += ["--database-url", self.database_url]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

        async def serving():
            if self.proc.poll() is not None:
                raise AssertionError(self.log_path.read_text())
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(self.base + probe)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(serving, timeout=30)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """kill -9: no goodbye, no disconnect script, no retire."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._close_log()

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 20) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self._close_log()
        return code

    def stop(self) -> int:
        self.terminate()
        return self.wait()

    def _close_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    async def customer(self, **hello) -> tuple[Client, dict]:
        return await hello_customer(self.customer_url, **hello)

    async def agent(self, token: str, **hello) -> tuple[Client, dict]:
        return await hello_agent(self.agent_url, token, **hello)

    async def customer_socket_refused(self) -> tuple[int | None, str]:
        """A customer's hello that the node refuses: its close code and reason."""
        client = await Client.connect(self.customer_url)
        await client.send({"type": "hello"})
        return await client.closed()


@pytest.fixture
def processes(tmp_path, reachable_folder, postgres_server):
    """Makes ServerProcess objects; whatever still runs at the end is killed. One given a
    Redis URL shares the session's PostgreSQL (nodes that share a Redis share a database)."""
    started: list[ServerProcess] = []

    def make(**kwargs):
        if kwargs.get("redis_url") or kwargs.get("env", {}).get("SWITCHBOARD_REDIS_SENTINELS"):
            kwargs.setdefault("database_url", postgres_server.url)
        embedded_postgres = kwargs.get("database_url") is None
        process = ServerProcess(reachable_folder if embedded_postgres else tmp_path, **kwargs)
        started.append(process)
        return process

    yield make
    for process in started:
        if process.alive():
            process.kill()


class RedisProcess(EmbeddedRedis):
    """A redis-server of its own on a TCP port, with the AOF fsynced at every
    write (so a kill -9 loses no acknowledged write), that a test may kill and
    start again on the same port and data. `extra` options are appended (a
    replica's `--replicaof host port`, say)."""

    def __init__(self, *args, extra: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.extra = extra or []

    def _command(self, binary: str) -> list[str]:
        command = super()._command(binary)
        command[command.index("--appendfsync") + 1] = "always"
        return command + self.extra

    def kill(self) -> None:
        """kill -9, then forget the process so that start() can run again."""
        proc = self._proc
        assert proc is not None
        proc.kill()
        proc.wait()
        self.stop()


class SentinelProcess:
    """`redis-server <conf> --sentinel` watching one master, with timeouts short
    enough for a failover to take a second or two."""

    def __init__(self, folder: Path, master_name: str, master_port: int) -> None:
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / f"sentinel-{self.port}.conf"  # sentinels rewrite it: in tmp
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {folder}\n"
            f"logfile {folder / f'sentinel-{self.port}.log'}\n"
            f"sentinel monitor {master_name} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {master_name} 500\n"
            f"sentinel failover-timeout {master_name} 3000\n"
            f"sentinel parallel-syncs {master_name} 1\n"
        )
        self.proc = subprocess.Popen(
            [redis_binary(), str(self.config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed; `make test` installs it"
    return binary


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "r", binary=redis_binary(), port=free_port())
    server.start()
    yield server
    server.stop()
