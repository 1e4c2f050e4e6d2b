"""The embedded PostgreSQL: run as the `postgres` user when we are root, on a Unix
socket in its data dir only, never outliving its node, stopped cleanly; and a node
that shares a Redis refuses to start without a database."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from conftest import ADMIN_TOKEN
from processes import ServerProcess
from support import eventually, hello_customer
from switchboard.embedded_postgres import EmbeddedPostgres


def postgres_processes(data_dir: Path) -> list[tuple[int, str]]:
    """(pid, user) of every process running `postgres -D data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            owner = entry.stat().st_uid
        except OSError:
            continue
        if command and command[0].endswith(b"postgres") and str(data_dir).encode() in command:
            found.append((int(entry.name), pwd.getpwuid(owner).pw_name))
    return found


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sb-test-embedded-pg-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_it_runs_as_an_unprivileged_user_on_a_socket_in_its_data_dir_only(folder: Path) -> None:
    server = EmbeddedPostgres(folder / "postgres")
    server.start()
    try:
        users = {user for _, user in postgres_processes(server.data_dir)}
        assert users == ({"postgres"} if os.geteuid() == 0 else {pwd.getpwuid(os.geteuid()).pw_name})
        assert (server.data_dir / ".s.PGSQL.5432").exists()
        settings = asyncio.run(_settings(server.url))
        assert settings == {"listen_addresses": "", "unix_socket_directories": str(server.data_dir)}
    finally:
        server.stop()
    assert postgres_processes(server.data_dir) == []  # stopped, not left behind
    assert "database system is shut down" in server.log_path.read_text()


async def _settings(url: str) -> dict[str, str]:
    connection = await asyncpg.connect(url)
    try:
        return {
            name: await connection.fetchval(f"SHOW {name}") for name in ("listen_addresses", "unix_socket_directories")
        }
    finally:
        await connection.close()


def test_it_dies_with_its_parent(folder: Path) -> None:
    data_dir = folder / "postgres"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from switchboard.embedded_postgres import EmbeddedPostgres; "
            "EmbeddedPostgres(sys.argv[1]).start(); print('up', flush=True); time.sleep(600)",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "server")},
    )
    assert parent.stdout is not None and parent.stdout.readline().strip() == b"up"
    assert postgres_processes(data_dir)
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    async def gone() -> bool:
        return not postgres_processes(data_dir)

    asyncio.run(eventually(gone, timeout=20))


async def test_serve_keeps_the_transcript_in_postgresql_across_a_restart_even_if_redis_lost_it(
    reachable_folder: Path,
) -> None:
    first = ServerProcess(reachable_folder)
    await first.start()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=first.base, headers=headers) as http:
        assert (await http.put("/api/v1/queues/support", json={"name": "Support"})).status_code == 200
    customer, _ = await hello_customer(first.customer_url)
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "keep my words"})
    await customer.close()
    cid = started["conversation_id"]
    data = reachable_folder / "data"
    url = f"postgresql://switchboard@/switchboard?host={data / 'postgres'}"

    async def archived() -> bool:
        connection = await asyncpg.connect(url)
        try:
            return bool(await connection.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", cid))
        finally:
            await connection.close()

    await eventually(archived)
    assert first.stop() == 0
    assert postgres_processes(data / "postgres") == []
    shutil.rmtree(data / "redis")  # Redis lost everything: PostgreSQL is the record

    second = ServerProcess(reachable_folder)
    await second.start()
    async with httpx.AsyncClient(base_url=second.base, headers=headers) as http:
        detail = (await http.get(f"/api/v1/conversations/{cid}")).json()
    assert [m["text"] for m in detail["messages"]] == ["keep my words"]
    assert second.stop() == 0


def test_a_node_given_a_redis_but_no_database_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchboard",
            "serve",
            "--redis-url",
            "redis://127.0.0.1:1/0",
            "--data-dir",
            str(tmp_path),
        ],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "server")},
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert b"nodes that share a Redis must share a PostgreSQL" in result.stderr
    assert b"SWITCHBOARD_DATABASE_URL" in result.stderr


def test_a_second_one_on_the_same_data_dir_is_refused(folder: Path) -> None:
    first = EmbeddedPostgres(folder / "postgres", durable=False)
    first.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            EmbeddedPostgres(folder / "postgres", durable=False).start()
        assert len(postgres_processes(first.data_dir)) >= 1  # the first one goes on
        asyncio.run(_settings(first.url))
    finally:
        first.stop()
