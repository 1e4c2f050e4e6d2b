"""The servers under test as real processes, and what they cost in CPU and memory."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from .plan import CLK_TCK, ROOT

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


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process, of its children that ended (and were waited for) and of
    those that run: a PostgreSQL postmaster and its backends."""
    total = 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total += sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime, stime, cutime, cstime
    for task in Path(f"/proc/{pid}/task").iterdir():
        with open(task / "children") as f:
            for child in f.read().split():
                try:
                    total += proc_cpu_s(int(child))
                except OSError:  # ended meanwhile
                    pass
    return total


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
