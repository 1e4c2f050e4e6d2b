"""`switchboard serve` and `switchboard demo`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import uvicorn

from .domain.accounts import UserRole
from .domain.config import AgentConfig, QueueConfig, WrapUpCode
from .embedded import EmbeddedRedis, RedisBinaryNotFound, find_redis_binary
from .embedded_postgres import EmbeddedPostgres, PostgresNotFound
from .gateway.auth import new_id
from .settings import Settings, settings_markdown
from .store.login_links import LOGIN_LINK_TTL_S

if TYPE_CHECKING:
    from .record.accounts import Accounts

log = logging.getLogger("switchboard")

DEMO_QUEUE = "support"
DEMO_AGENT = "demo-agent"
DEMO_AGENT_EMAIL = "agent@example.com"
DEMO_ADMIN_EMAIL = "admin@example.com"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description="Real-time chat routing for contact centres")
    commands = parser.add_subparsers(dest="command", required=True)
    reference = commands.add_parser("settings", help="describe the settings (SWITCHBOARD_* variables)")
    reference.add_argument(
        "--markdown", action="store_true", required=True, help="print the reference table of docs/operations.md"
    )
    for name, help_text in (("serve", "run a gateway node"), ("demo", "run a node with a demo queue and agent")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--host", default=None, help="address to listen on (default SWITCHBOARD_HOST or 127.0.0.1)"
        )
        command.add_argument(
            "--port", type=int, default=None, help="port to listen on (default SWITCHBOARD_PORT or 8000)"
        )
        command.add_argument("--redis-url", default=None, help="Redis URL; without one an embedded Redis is started")
        command.add_argument(
            "--database-url",
            default=None,
            help="PostgreSQL URL; without one (and without a Redis URL) an embedded PostgreSQL is started",
        )
        command.add_argument("--data-dir", default=None, help="where the embedded Redis keeps its data")
        command.add_argument(
            "--log-level", default=None, help="debug, info, warning or error (default SWITCHBOARD_LOG_LEVEL or info)"
        )
    return parser


@dataclass(frozen=True)
class DemoAccess:
    """What `switchboard demo` prints to get in: the demo agent's token, and one-time sign-in links."""

    agent_token: str
    admin_link_token: str
    agent_link_token: str


async def seed_demo(settings: Settings) -> DemoAccess:
    """Creates the demo queue, agent and users (idempotent) and returns the ways in: an agent
    token, and one-time sign-in links for the admin user and the demo agent's user."""
    from .gateway.services import build_services

    services = build_services(settings)
    try:
        queue = QueueConfig(
            name="Customer support",
            languages=["en", "de", "fr"],
            wrap_up_codes=[
                WrapUpCode("resolved", "Resolved"),
                WrapUpCode("follow_up", "Needs follow-up"),
                WrapUpCode("spam", "Spam"),
            ],
        )
        await services.router.put_queue(DEMO_QUEUE, msgspec.json.encode(queue))
        agent = AgentConfig(display_name="Demo Agent", languages=["en", "de", "fr"], queues=[DEMO_QUEUE], capacity=3)
        await services.router.put_agent(DEMO_AGENT, msgspec.json.encode(agent))
        version = await services.directory.token_version(DEMO_AGENT) or "0"
        token = services.signer.agent_token(DEMO_AGENT, version, int(time.time() + settings.agent_token_ttl_s))
        await services.database.start()
        try:
            admin_id, agent_id = await _demo_users(services.accounts)
        finally:
            await services.database.stop()
        return DemoAccess(
            token, await services.login_links.create(admin_id), await services.login_links.create(agent_id)
        )
    finally:
        await services.redis.aclose()


async def _demo_users(accounts: Accounts) -> tuple[str, str]:
    """The admin user (kept if one with its email exists) and the demo agent's user: their ids."""
    admin = await accounts.user_by_email(DEMO_ADMIN_EMAIL)
    if admin is None:
        admin = await accounts.create_user(new_id("u"), DEMO_ADMIN_EMAIL, "Admin", UserRole.ADMIN, [], None)
    if await accounts.user(DEMO_AGENT) is None:
        await accounts.create_user(DEMO_AGENT, DEMO_AGENT_EMAIL, "Demo Agent", UserRole.AGENT, [DEMO_QUEUE], None)
    return admin.id, DEMO_AGENT


def demo_banner(settings: Settings, access: DemoAccess) -> str:
    """What `switchboard demo` prints once it has seeded: where to go, and the ways in."""
    base = f"http://{settings.host}:{settings.port}"
    minutes = LOGIN_LINK_TTL_S // 60
    return (
        f"\nSwitchboard demo is running at {base}\n"
        f"  1. chat as a customer:  {base}/demo\n"
        f"  2. answer as the agent: {base}/desk#token={access.agent_token}\n"
        f"  customer socket: ws://{settings.host}:{settings.port}/ws/customer  (queue '{DEMO_QUEUE}')\n"
        f"  agent socket:    ws://{settings.host}:{settings.port}/ws/agent\n"
        f"  demo agent token: {access.agent_token}\n"
        f"  admin token:      {settings.admin_token}\n"
        f"  sign in as the admin ({DEMO_ADMIN_EMAIL}):      {base}/login#once={access.admin_link_token}\n"
        f"  sign in as the demo agent ({DEMO_AGENT_EMAIL}): {base}/login#once={access.agent_link_token}\n"
        f"  (each sign-in link works once, within {minutes} minutes; the admin lands in the console, {base}/admin,\n"
        "   where users are created and invited, and where a password reset link is made)\n"
        "See README.md, 'Try it', for a customer and an agent in a few lines of Python.\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "settings":
        print(settings_markdown(), end="")
        return 0
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        redis_url=args.redis_url,
        database_url=args.database_url,
        log_level=args.log_level,
        data_dir=None if args.data_dir is None else Path(args.data_dir),
    ).with_secrets()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    shared_redis = bool(settings.redis_url or settings.redis_cluster_nodes or settings.uses_sentinel)
    if shared_redis and not settings.database_url:
        print(
            "switchboard: a Redis is given but no database: nodes that share a Redis must share a PostgreSQL "
            "too. Set SWITCHBOARD_DATABASE_URL (or --database-url); leave both unset for one node with "
            "embedded ones.",
            file=sys.stderr,
        )
        return 2
    embedded_postgres = None
    if not settings.database_url:
        try:
            embedded_postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            settings = replace(settings, database_url=embedded_postgres.start())
        except (PostgresNotFound, RuntimeError) as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 2
        log.info("embedded PostgreSQL with its data in %s", embedded_postgres.data_dir)
    try:
        return _serve_with_redis(args.command, settings)
    finally:
        if embedded_postgres is not None:
            embedded_postgres.stop()


def _serve_with_redis(command: str, settings: Settings) -> int:
    embedded = None
    if not settings.redis_url and not settings.redis_cluster_nodes and not settings.uses_sentinel:
        try:
            binary = find_redis_binary()
        except RedisBinaryNotFound as exc:
            print(f"switchboard: {exc}", file=sys.stderr)
            return 2
        # Started from the main thread: the child gets SIGTERM when this thread ends.
        embedded = EmbeddedRedis(settings.data_dir / "redis", binary=binary)
        settings = replace(settings, redis_url=embedded.start())
        log.info("embedded Redis (%s) with its data in %s", binary, embedded.data_dir)
    try:
        if command == "demo":
            access = asyncio.run(seed_demo(settings))
            print(demo_banner(settings, access), flush=True)
        elif not os.environ.get("SWITCHBOARD_ADMIN_TOKEN"):
            print(f"admin token (generated for this run): {settings.admin_token}", flush=True)
        serve(settings)
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


def serve(settings: Settings) -> None:
    from .gateway.app import create_app
    from .gateway.limits import quiet_client_errors
    from .gateway.serving import NodeServer

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal
    # into the handlers it found; these let the process go on to stop its
    # embedded Redis and exit 0 instead of dying by the signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    app = create_app(settings)
    quiet_client_errors()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_drain_s),  # uvicorn takes whole seconds
        # Behind these proxies X-Forwarded-For names the client, for the per-address limits.
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )
    NodeServer(config, app.state.services.local.sockets, settings.shutdown_drain_s).run()


if __name__ == "__main__":
    sys.exit(main())
