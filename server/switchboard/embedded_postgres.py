"""Run a real PostgreSQL as a child process, the way `embedded.py` runs Redis.

`switchboard serve` without a Redis URL and without a database URL (one node)
and the test suite use it. Debian's `postgresql` package puts its binaries
under `/usr/lib/postgresql/<version>/bin`, which is not on PATH.

PostgreSQL refuses to run as root. Started by root, `initdb` and `postgres`
run as the unprivileged `postgres` user that the package creates, with the
data directory owned by it; started by anyone else, they run as that user.
The server listens on a Unix socket in its data directory only, so only root
and its own user can reach it (`trust` is safe there: the directory's mode
is the authentication).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from .embedded import pdeathsig_preexec

__all__ = ["EmbeddedPostgres", "PostgresNotFound", "find_postgres_bindir"]

#: The superuser that initdb creates and the database the node uses.
USER = "switchboard"
DATABASE = "switchboard"
#: The unprivileged system user to run as when started by root (Debian's package creates it).
SYSTEM_USER = "postgres"
_MAX_UNIX_PATH = 107


class PostgresNotFound(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "no PostgreSQL binaries found (looked for `postgres` on PATH and under "
            "/usr/lib/postgresql/*/bin). Install them with `apt-get install postgresql` "
            "(`make run` does), or use an existing server with --database-url / SWITCHBOARD_DATABASE_URL."
        )


def find_postgres_bindir() -> Path:
    """The directory of `postgres`, `initdb` and `pg_isready`: PATH first, then the newest Debian version."""
    on_path = shutil.which("postgres")
    if on_path:
        folder = Path(os.path.realpath(on_path)).parent
        if (folder / "initdb").exists():
            return folder
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda path: int(Path(path).parent.parent.name) if Path(path).parent.parent.name.isdigit() else 0,
    )
    if versions:
        return Path(versions[-1]).parent
    raise PostgresNotFound()


def _system_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as: None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise RuntimeError(
            f"PostgreSQL refuses to run as root, and there is no `{SYSTEM_USER}` user to run it as; "
            "`apt-get install postgresql` creates one"
        ) from None


def _reachable_by(path: Path, account: pwd.struct_passwd) -> Path | None:
    """The first folder above `path` that `account` may not pass through, or None."""
    for folder in reversed(path.parents):
        mode = folder.stat()
        if mode.st_uid == account.pw_uid:
            allowed = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid == account.pw_gid:
            allowed = mode.st_mode & stat.S_IXGRP
        else:
            allowed = mode.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None


class EmbeddedPostgres:
    """A private PostgreSQL cluster in `data_dir`, listening on a Unix socket there only.

    `port` only names the socket (`.s.PGSQL.<port>`); TCP is off. The database
    persists in `data_dir`, so a new instance on the same directory finds it.
    `durable=False` (tests) turns fsync off.
    """

    def __init__(
        self, data_dir: str | os.PathLike[str], *, port: int = 5432, durable: bool = True, bindir: Path | None = None
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.durable = durable
        self.bindir = bindir
        # beside the data directory: initdb wants that one empty
        self.log_path = self.data_dir.with_name(self.data_dir.name + ".log")
        socket_path = self.data_dir / f".s.PGSQL.{port}"
        if len(os.fsencode(socket_path)) > _MAX_UNIX_PATH:
            raise ValueError(f"socket path {str(socket_path)!r} is too long; use a shorter data directory")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL asyncpg connects with (the socket's directory as `host`)."""
        return f"postgresql://{USER}@/{DATABASE}?host={quote(str(self.data_dir))}&port={self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _prepare(self, account: pwd.struct_passwd | None) -> None:
        if account is not None:
            # The parent keeps its other files private; the account only needs to pass through.
            parent = self.data_dir.parent
            parent.mkdir(parents=True, exist_ok=True)
            parent.chmod(parent.stat().st_mode | stat.S_IXOTH)
            blocked = _reachable_by(self.data_dir, account)
            if blocked is not None:
                raise RuntimeError(
                    f"PostgreSQL runs as the `{account.pw_name}` user, which may not enter {blocked}; "
                    f"allow it to pass (`chmod o+x {blocked}`) or choose another data directory"
                )
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if account is not None:
            os.chown(self.data_dir, account.pw_uid, account.pw_gid)

    def _initdb(self, bindir: Path, account: pwd.struct_passwd | None) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        command = [
            str(bindir / "initdb"),
            "--pgdata", str(self.data_dir),
            "--username", USER,
            "--auth", "trust",
            "--encoding", "UTF8",
            "--no-locale",
        ]  # fmt: skip
        if not self.durable:
            command.append("--no-sync")
        done = subprocess.run(
            command,
            capture_output=True,
            cwd="/",
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.decode(errors='replace')[-2000:]}")

    def _server_command(self, bindir: Path) -> list[str]:
        command = [
            str(bindir / "postgres"),
            "-D", str(self.data_dir),
            "-k", str(self.data_dir),
            "-p", str(self.port),
            "-c", "listen_addresses=",
            "-c", "unix_socket_permissions=0700",
        ]  # fmt: skip
        if not self.durable:
            command += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return command

    def _ready(self, bindir: Path, database: str) -> bool:
        probe = [
            str(bindir / "pg_isready"),
            "--host", str(self.data_dir),
            "--port", str(self.port),
            "--username", USER,
            "--dbname", database,
            "--timeout", "1",
        ]  # fmt: skip
        return subprocess.run(probe, capture_output=True).returncode == 0

    def _psql(self, bindir: Path, sql: str) -> str:
        command = [
            str(bindir / "psql"),
            "--host", str(self.data_dir),
            "--port", str(self.port),
            "--username", USER,
            "--dbname", "postgres",
            "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
            "--command", sql,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode().strip()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"
        except OSError:
            return "(no log)"

    def start(self, timeout: float = 30.0) -> str:
        """initdb on first use, start the server, wait until it accepts connections, return its URL.

        As with EmbeddedRedis, call it from a thread that outlives the server.
        """
        if self._proc is not None:
            raise RuntimeError("EmbeddedPostgres is already started")
        bindir = self.bindir or find_postgres_bindir()
        account = _system_user()
        self._prepare(account)
        self._initdb(bindir, account)
        # A live server here would answer the readiness probe in our stead: refuse, as
        # EmbeddedRedis does, rather than share its data directory.
        if self._ready(bindir, "postgres"):
            raise RuntimeError(f"a PostgreSQL is already running on {self.data_dir}")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self._server_command(bindir),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                close_fds=True,
                cwd="/",
                start_new_session=True,
                # runs after Popen switched the user: changing the uid clears a parent-death signal
                preexec_fn=pdeathsig_preexec(signal.SIGINT),
                user=account.pw_uid if account else None,
                group=account.pw_gid if account else None,
                extra_groups=[] if account else None,
            )
        deadline = time.monotonic() + timeout
        while not self._ready(bindir, "postgres") or self._proc.poll() is not None:
            if self._proc.poll() is not None:
                code, self._proc = self._proc.returncode, None
                raise RuntimeError(f"postgres exited with {code} during startup; log:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop(timeout=5)
                raise RuntimeError(f"postgres was not ready within {timeout:.0f}s; log:\n{self._log_tail()}")
            time.sleep(0.05)
        if self._psql(bindir, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'") != "1":
            self._psql(bindir, f"CREATE DATABASE {DATABASE}")
        return self.url

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT: sessions end, the data is checkpointed), SIGKILL as the last resort."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would (the fault tests)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
