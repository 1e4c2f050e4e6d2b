"""Fixtures: a real redis-server and a real PostgreSQL for the session, and real server nodes on real sockets."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis as redis_sync
import uvicorn
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import Client, LocalAddresses, hello_agent, hello_customer
from switchboard.embedded import EmbeddedRedis
from switchboard.embedded_postgres import EmbeddedPostgres, PostgresNotFound, find_postgres_bindir
from switchboard.gateway.app import create_app
from switchboard.gateway.outbound import tls_context
from switchboard.gateway.serving import NodeServer
from switchboard.record.migrations import migrate
from switchboard.settings import Settings
from switchboard.store.engine import Timeouts
from switchboard.store.keys import Keys
from switchboard.store.router import Router

# The test OpenID Connect provider's fixtures: one process per worker.
pytest_plugins = ["oidc_provider.provider"]

# A folder is a level; its marker lets `make check` leave out what needs a browser,
# a Redis Cluster or the image build (see the Makefile).
FOLDER_MARKERS = {"browser": ["browser"], "operations": ["operations"]}
FILE_MARKERS = {"test_redis_cluster.py": ["cluster"], "test_docker.py": ["docker"]}
# xdist hands out whole files (`--dist loadfile`: a file's module fixtures, a Redis
# Cluster or a fuzzed node, start once), each to the next worker that is free, in
# collection order. These files come first, longest first, and the many short ones
# fill in at the end, so no long file starts last and holds the run open on its own.
# Seconds each took in a full run (four workers on two cores); only their order matters.
FILE_SECONDS = {
    "test_desk_browser.py": 51,
    "test_loadtest.py": 50,
    "test_redis_cluster.py": 40,
    "test_widget_browser.py": 32,
    "test_faults_nodes.py": 21,
    "test_faults_chaos.py": 19,
    "test_admin_browser.py": 18,
    "test_webhooks.py": 16,
    "test_fuzz.py": 15,
    "test_oidc_browser.py": 15,
    "test_openapi.py": 14,
    "test_login_browser.py": 14,
    "test_nodes.py": 14,
    "test_supervisor_browser.py": 14,
    "test_accounts.py": 14,
    "test_embedded_postgres.py": 13,
    "test_docker.py": 13,
    "test_oidc.py": 13,
    "test_router_properties.py": 12,
    "test_reports_browser.py": 10,
    "test_system_of_record.py": 9,
    "test_routing.py": 9,
    "test_api_reference_browser.py": 9,
    "test_after_contact_browser.py": 9,
    "test_queueing.py": 9,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        path = Path(str(item.path))
        folder = path.parent.relative_to(tests_dir).parts[0] if path.parent != tests_dir else ""
        for name in (*FOLDER_MARKERS.get(folder, []), *FILE_MARKERS.get(path.name, [])):
            item.add_marker(name)
    items.sort(key=lambda item: -FILE_SECONDS.get(Path(str(item.path)).name, 0))


def share_one_tls_context() -> None:
    """Every httpx client loads the CA roots into a TLS context of its own, about 30 ms of
    CPU, and the suite makes thousands of clients that speak plain HTTP to 127.0.0.1: they
    share one context instead, as the server's own clients do (gateway/outbound.py)."""
    from httpx._transports import default as transports

    shared = tls_context()
    build = transports.create_ssl_context

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        return shared if verify is True and cert is None else build(verify=verify, cert=cert, trust_env=trust_env)

    transports.create_ssl_context = create_ssl_context  # type: ignore[assignment]


share_one_tls_context()


def run_on_uvloop() -> None:
    """Every async test and fixture runs on uvloop, the loop a node runs on in production
    (uvicorn picks it): the workers spent about a tenth less CPU than on asyncio's own loop,
    whose socket reads and writes were a fifth of their busy time. (A policy, not
    pytest-asyncio's loop factories: those parametrize the async tests only, and a sync test
    that uses an async fixture then made the session's loop and fixtures start again.)"""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


run_on_uvloop()

ADMIN_TOKEN = "test-admin-token"
SECRET = "test-secret"
#: What every node of the suite runs with, in-process or as a child process.
SUITE_NODE_SETTINGS: dict[str, Any] = {
    # deadlines fall due within 0.1 s; each tick of an idle node costs about 1 ms of CPU
    "timer_tick_s": 0.1,
    # Argon2 at its production cost took about 0.2 s of CPU per sign-in and per user made
    # (test_accounts.py checks that the production parameters are the default)
    "password_hash_memory_kib": 64,
    "password_hash_passes": 1,
}


def suite_node_env() -> dict[str, str]:
    """SUITE_NODE_SETTINGS as the environment of a child-process node."""
    return {f"SWITCHBOARD_{name.upper()}": str(value) for name, value in SUITE_NODE_SETTINGS.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.exit("redis-server is not installed; `make test` installs it", returncode=3)
    # On its Unix socket alone, as a node's embedded Redis is: a round trip over TCP on the
    # loopback cost both ends more CPU, and the suite makes some hundred thousand.
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), binary=binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cleaner(redis_server: EmbeddedRedis) -> Iterator[redis_sync.Redis]:
    client = redis_sync.Redis.from_url(redis_server.url)
    yield client
    client.close()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis, redis_cleaner: redis_sync.Redis) -> str:
    """The session's Redis, emptied for this test."""
    redis_cleaner.flushall()
    return redis_server.url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """One real PostgreSQL per session (each xdist worker its own), run as the
    `postgres` user when the suite runs as root, as the embedded one of a node is.
    Its folder is outside pytest's temporary root, which only root may enter."""
    try:
        find_postgres_bindir()
    except PostgresNotFound:
        pytest.exit("PostgreSQL is not installed; `make test` installs it", returncode=3)
    folder = Path(tempfile.mkdtemp(prefix="sb-test-pg-"))
    server = EmbeddedPostgres(folder / "postgres", durable=False)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def reachable_folder() -> Iterator[Path]:
    """A private folder that the `postgres` user may pass into, for a node's data dir with
    an embedded PostgreSQL. Not under pytest's own temporary root: every pytest run that
    starts (another suite on the machine, say) makes that root private to root again,
    which would shut out a PostgreSQL in the middle of its initdb."""
    folder = Path(tempfile.mkdtemp(prefix="sb-test-node-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def postgres_cleaner(postgres_server: EmbeddedPostgres) -> AsyncIterator[DatabaseCleaner]:
    cleaner = DatabaseCleaner(postgres_server.url)
    yield cleaner
    await cleaner.close()


@pytest.fixture
async def database_url(postgres_server: EmbeddedPostgres, postgres_cleaner: DatabaseCleaner) -> str:
    """The session's PostgreSQL with the current schema and no rows, for this test."""
    await postgres_cleaner.empty()
    return postgres_server.url


class DatabaseCleaner:
    """Empties the session's database before each test over one connection it keeps: a new
    connection is a new PostgreSQL backend, about 3 ms of the server's CPU to start."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: asyncpg.Connection | None = None

    async def empty(self) -> None:
        try:
            await self._empty(await self._connect())
        except (asyncpg.InterfaceError, asyncpg.PostgresConnectionError, OSError):
            # A test stopped the server or ended this backend: once more on a new connection.
            await self.close()
            await self._empty(await self._connect())

    async def _connect(self) -> asyncpg.Connection:
        if self._connection is None or self._connection.is_closed():
            # No statement cache: a test may drop and remake the schema under it.
            self._connection = await asyncpg.connect(self.url, statement_cache_size=0)
        return self._connection

    async def _empty(self, connection: asyncpg.Connection) -> None:
        await migrate(connection)
        tables = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        )
        # DELETE, not TRUNCATE: a TRUNCATE of twenty tables makes new files for each, about
        # 90 ms a test, where deleting their few rows takes one. Foreign keys are not checked
        # (the whole lot goes), and the sequences start again as TRUNCATE's RESTART IDENTITY would.
        # One round trip: without arguments asyncpg sends the statements as one simple query,
        # which PostgreSQL runs as one transaction.
        await connection.execute(
            "SET LOCAL session_replication_role = replica;"
            + "".join(f"DELETE FROM {table['tablename']};" for table in tables)
            + "SELECT setval(oid::regclass, 1, false) FROM pg_class"
            " WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
        )

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()


@pytest.fixture
async def router(redis_url: str) -> AsyncIterator[Router]:
    """The store called directly, on the test's emptied Redis; each call passes `now`."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    yield Router(redis, Keys("unit"), Timeouts(inactivity_ms=60_000, grace_ms=5_000))
    await redis.aclose()


@dataclass
class Node(LocalAddresses):
    """One real gateway node serving on 127.0.0.1."""

    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int
    app: Any

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def stop(self) -> None:
        self.server.stop_soon()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 15)
        except TimeoutError:
            # Which part of the node's stop is stuck, for whoever reads the failure.
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.print_stack(limit=6, file=sys.stderr)
            raise


async def start_node(redis_url: str, database_url: str, **overrides: Any) -> Node:
    values: dict[str, Any] = dict(
        redis_url=redis_url,
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        secret=SECRET,
        **SUITE_NODE_SETTINGS,
        disconnect_grace_s=30.0,
        hello_timeout_s=5.0,
        shutdown_drain_s=5.0,
        # one process runs every in-process node of the suite: freezing would keep the
        # cyclic garbage of earlier tests (child-process nodes run the default)
        gc_freeze_interval_s=0.0,
    )
    values.update(overrides)
    settings = Settings(**values)
    app = create_app(settings)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets it knows
    # are TCP, and without it every answer on a kept-alive connection stalls ~40 ms.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        # Longer than the 5 s for which an httpx client keeps an idle connection: with both
        # at 5 s, a test's request could go out on a connection the server was closing.
        timeout_keep_alive=30,
    )
    server = NodeServer(config, app.state.services.local.sockets, settings.shutdown_drain_s)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:
        if task.done():
            task.result()
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError("node did not start")
        await asyncio.sleep(0.01)
    return Node(settings, server, task, port, app)


@dataclass
class Deployment:
    """A node plus helpers to configure it and to open clients against it."""

    node: Node
    http: httpx.AsyncClient
    clients: list[Client] = field(default_factory=list)

    async def archive_caught_up(self) -> None:
        """Until PostgreSQL has every change this deployment made (search and reports read it)."""
        router = self.node.services.router
        deadline = asyncio.get_running_loop().time() + 10
        while (await router.archive_backlog())["conversations"]:
            assert asyncio.get_running_loop().time() < deadline, "the archive did not catch up"
            await asyncio.sleep(0.02)

    async def admin(self, method: str, path: str, body: Any = None, expect: int | None = 200) -> Any:
        response = await self.http.request(method, path, json=body)
        if expect is not None:
            assert response.status_code == expect, (response.status_code, response.text)
        return response.json() if response.content else None

    async def queue(self, qid: str = "support", **config: Any) -> dict[str, Any]:
        """The queue, put. Unless a test asks otherwise it refuses chats while closed and queues
        them while nobody is signed in (`offline: "refuse"`): most tests start a chat before
        their agent signs in, and mean a webchat. tests/gateway/test_leave_a_message.py has the
        product's default."""
        return await self.admin("PUT", f"/api/v1/queues/{qid}", {"name": qid.title(), "offline": "refuse", **config})

    async def agent(
        self, aid: str, queues: list[str] | None = None, languages: list[str] | None = None, **config: Any
    ) -> str:
        """Creates the agent and returns a token for it."""
        body = {
            "display_name": aid.title(),
            "languages": languages or ["en"],
            "queues": queues or ["support"],
            **config,
        }
        response = await self.http.put(f"/api/v1/agents/{aid}", json=body)
        assert response.status_code in (200, 201), response.text
        return (await self.admin("POST", f"/api/v1/agents/{aid}/token"))["token"]

    async def customer(
        self, protocol: str = "json", node: Node | None = None, **hello: Any
    ) -> tuple[Client, dict[str, Any]]:
        client, welcome = await hello_customer((node or self.node).customer_url, protocol, **hello)
        self.clients.append(client)
        return client, welcome

    async def agent_socket(
        self, token: str, protocol: str = "json", node: Node | None = None, **hello: Any
    ) -> tuple[Client, dict[str, Any]]:
        client, welcome = await hello_agent((node or self.node).agent_url, token, protocol, **hello)
        self.clients.append(client)
        return client, welcome

    async def available_agent(self, aid: str, **config: Any) -> Client:
        token = await self.agent(aid, **config)
        client, _ = await self.agent_socket(token)
        await client.ok({"type": "set_state", "state": "available"})
        return client

    async def chat(
        self, queue: str = "support", text: str | None = "Hello", **start: Any
    ) -> tuple[Client, dict[str, Any]]:
        """A customer who started a chat; returns the client and the start_chat ack."""
        client, _ = await self.customer()
        frame = {"type": "start_chat", "queue": queue, **start}
        if text is not None:
            frame["text"] = text
        return client, await client.ok(frame)


@pytest.fixture
async def node_factory(redis_url: str, database_url: str) -> AsyncIterator[Any]:
    nodes: list[Node] = []

    async def factory(**overrides: Any) -> Node:
        node = await start_node(
            overrides.pop("redis_url", redis_url), overrides.pop("database_url", database_url), **overrides
        )
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        await node.stop()


@pytest.fixture
async def make_deployment(node_factory: Any) -> AsyncIterator[Any]:
    deployments: list[Deployment] = []

    async def factory(**overrides: Any) -> Deployment:
        node = await node_factory(**overrides)
        http = httpx.AsyncClient(base_url=node.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
        deployment = Deployment(node, http)
        deployments.append(deployment)
        return deployment

    yield factory
    for deployment in deployments:
        for client in deployment.clients:
            await client.close()
        await deployment.http.aclose()


# Debian's Chromium, headless, with everything that would call out switched off
# (this machine has no network but loopback).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
async def playwright_driver() -> AsyncIterator[Any]:
    """One Playwright driver (a Node.js process) per session: starting one per test cost
    about 0.7 s of CPU each. Every test of the suite runs in the session's event loop
    (pyproject.toml), so the driver's pipes live as long as it does."""
    from playwright.async_api import async_playwright, expect

    # Four workers share two cores with their Chromium: Playwright's 5 s default
    # deadline for an expectation is too short for a desk that renders 100 items.
    expect.set_options(timeout=15_000)
    async with async_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
async def chromium(playwright_driver: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """One headless Chromium for the whole session (each xdist worker has its own): launching
    one per test cost about 1.8 s of CPU each. Playwright starts it with these switches alone
    (its own defaults made Chromium's CPU worse) and speaks the DevTools protocol to it over a
    pipe: over a WebSocket (connect_over_cdp) its driver spent 2.5 times the CPU per page."""
    # The headless shell that `make test` installs: the full browser's new headless mode took
    # more than twice the CPU for the same tests (300 s against 112 s over tests/browser).
    executable = shutil.which("chromium-headless-shell") or shutil.which("chromium") or "/usr/bin/chromium"
    profile = tmp_path_factory.mktemp("chromium-profile")
    browser = await playwright_driver.chromium.launch(
        executable_path=executable,
        ignore_default_args=True,
        args=[*CHROMIUM_ARGS, "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-startup-window"],
    )
    yield browser
    await browser.close()


@pytest.fixture
async def browser(chromium: Any) -> AsyncIterator[Any]:
    """The session's headless Chromium (Playwright's async API); the contexts a test opens
    in it (each opens its own) are closed after it. `make test` installs it."""
    try:
        yield chromium
    finally:
        for context in chromium.contexts:
            await context.close()


@pytest.fixture
async def sb(make_deployment: Any) -> Deployment:
    """A deployment with default settings and the queue `support`."""
    deployment = await make_deployment()
    await deployment.queue("support")
    return deployment
