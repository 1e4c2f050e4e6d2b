"""One chaos run: load, kills and the checks at the end, and its command line."""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from switchboard.embedded import EmbeddedRedis, find_redis_binary
from switchboard.embedded_postgres import EmbeddedPostgres

from . import __doc__ as CHAOS_DOC
from .actors import Agent, Customer
from .checks import check, check_archive, wait_archive_drained
from .nodes import ADMIN_TOKEN, BOUND_S, QUEUE, ROOT, SECRET, Node, Run, free_port, progress, set_fsync_always


async def finish(run: Run, tasks: list[asyncio.Task[None]], timeout: float, what: str) -> None:
    """Waits for the tasks; one still running after `timeout` is a violation (and is cancelled)."""
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in done:
        if task.exception() is not None:
            run.violation(f"{what}: {task.exception()!r}")
    for task in pending:
        run.violation(what)
        task.cancel()


async def admin(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    for _attempt in range(20):
        response = await http.request(method, path, json=body)
        if response.status_code != 429:  # the nodes run without the HTTP limit; should one apply, wait
            break
        await asyncio.sleep(float(response.headers.get("Retry-After") or 1))
    response.raise_for_status()
    return response.json()


async def all_events(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = ""
    while True:
        page = await admin(http, "GET", f"/api/v1/events?limit=1000{'&after=' + after if after else ''}")
        events += page["events"]
        if not page.get("next") or not page["events"]:
            return events
        after = page["next"]


async def main_async(args: argparse.Namespace) -> int:
    random.seed(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="chaos-", dir=args.workdir))
    redis = EmbeddedRedis(workdir / "redis", binary=find_redis_binary(), port=free_port())
    # From this (the main) thread: the server gets SIGTERM when its spawning thread ends.
    redis_url = redis.start()
    await set_fsync_always(redis_url)
    # The system of record, shared by every node. Its socket lives in the data directory,
    # whose path must stay short (and passable by the `postgres` user when we are root).
    postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="chaos-pg-")) / "pg", port=free_port())
    try:
        database_url = postgres.start()
    except BaseException:
        redis.stop()
        raise
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH")])),
        "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
        "SWITCHBOARD_SECRET": SECRET,
        "SWITCHBOARD_DATA_DIR": str(workdir / "data"),
        "SWITCHBOARD_TIMER_TICK_S": "0.1",
        "SWITCHBOARD_NODE_TTL_S": str(args.node_ttl),
        "SWITCHBOARD_DISCONNECT_GRACE_S": str(args.grace),
        "SWITCHBOARD_SHUTDOWN_DRAIN_S": "3",
        # every client here comes from 127.0.0.1: the per-address limits would count them as one
        "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN": "0",
        "SWITCHBOARD_SOCKETS_PER_IP": "0",
        # ... and so would the HTTP API's: the checks at the end read every history and
        # page through the events from this one address, far above 50 requests a second
        "SWITCHBOARD_HTTP_REQUESTS_PER_S": "0",
        "SWITCHBOARD_DATABASE_URL": database_url,
    }
    run = Run(args, redis, [Node(i, redis_url, workdir, env) for i in range(args.nodes)], postgres=postgres)
    began = time.monotonic()
    try:
        await asyncio.gather(*(n.start() for n in run.nodes))
        http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{run.nodes[0].port}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
        # Live webchats under faults: a chat started while every agent's node is down waits in
        # the queue as a webchat, not as a message left for later (`offline: "refuse"`).
        queue = {"name": "Chaos", "offer_timeout_s": 5, "wrap_up_timeout_s": 60, "offline": "refuse"}
        await admin(http, "PUT", f"/api/v1/queues/{QUEUE}", queue)
        agents = []
        for i in range(args.agents):
            name = f"agent{i:02d}"
            await admin(
                http,
                "PUT",
                f"/api/v1/agents/{name}",
                {"display_name": name, "languages": ["en"], "queues": [QUEUE], "capacity": args.capacity},
            )
            token = (await admin(http, "POST", f"/api/v1/agents/{name}/token"))["token"]
            agents.append(Agent(run, name, token, args.capacity))
        customers = [Customer(run, f"cust{i:02d}") for i in range(args.customers)]

        stop_agents = asyncio.Event()
        agent_tasks = [asyncio.create_task(a.live(stop_agents)) for a in agents]
        until = time.monotonic() + args.duration
        chaos = [asyncio.create_task(run.chaos(until))]
        if args.redis_outage:
            chaos.append(asyncio.create_task(run.redis_outage(time.monotonic() + args.duration / 2)))
        if args.postgres_kills:
            chaos.append(asyncio.create_task(run.postgres_outages(time.monotonic())))
        customer_tasks = [asyncio.create_task(c.live(until)) for c in customers]
        progress("load and chaos running")
        await asyncio.gather(*chaos)
        progress("chaos over; customers finish their chats")
        await finish(run, customer_tasks, 45, "customer did not finish its last chat")
        progress("customers done; every node back")
        await asyncio.gather(*run.restarts)
        await asyncio.gather(*(run.restart(n) for n in run.nodes))
        await http.aclose()  # its node may have another port now
        http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{run.nodes[0].port}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )

        async def settled() -> bool:
            agent_states = [await admin(http, "GET", f"/api/v1/agents/{a.name}") for a in agents]
            return all(not a.held for a in agents) and all(s["connected"] for s in agent_states)

        deadline = time.monotonic() + 30
        while not await settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        progress("settled; checking")
        await asyncio.sleep(1.0)  # pushes in flight reach their sockets
        stop_agents.set()
        await finish(run, agent_tasks, 15, "agent did not stop")

        histories = {}
        for cid in {cid for c in customers for cid in c.conversations}:
            histories[cid] = (await admin(http, "GET", f"/api/v1/conversations/{cid}"))["messages"]
        events = await all_events(http)
        check(run, customers, agents, histories, events)
        progress("waiting for the archive to drain")
        drained = await wait_archive_drained(run, redis_url, sorted(histories), args.archive_timeout)
        run.figures["archive_drain_s"] = -1 if drained is None else round(drained, 1)
        progress("checking PostgreSQL")
        run.figures.update(await check_archive(run, database_url))
        for actor in [*customers, *agents]:
            if actor.conn:
                await actor.conn.close()
        await http.aclose()
    finally:
        for node in run.nodes:
            if node.up:
                node.kill()
        redis.stop()
        postgres.stop()
    figures = {
        "duration_s": round(time.monotonic() - began, 1),
        "nodes": args.nodes,
        "customers": args.customers,
        "agents": args.agents,
        "chats": run.figures["chats"],
        "sessions": run.figures["sessions"],
        "messages_acked": run.figures["messages_acked"],
        "deliveries_checked": run.figures["deliveries_checked"],
        "kills": run.figures["kills"],
        "sigterms": run.figures["sigterms"],
        "restarts": run.figures["restarts"],
        "redis_kills": run.figures["redis_kills"],
        "postgres_kills": run.figures["postgres_kills"],
        "reconnects": run.figures["reconnects"],
        "unavailable_answers": run.figures["unavailable_answers"],
        "event_inversions": run.figures["event_inversions"],
        "resent_on_resume": run.figures["resent_on_resume"],
        "message_inversions": run.figures["message_inversions"],
        "histories_fetched": run.figures["histories_fetched"],
        "peak_sessions_per_agent": run.figures["peak_sessions_per_agent"],
        "capacity": args.capacity,
        "archive_drain_s": run.figures["archive_drain_s"],
        "pg_acked": run.figures["pg_acked"],
        "pg_found_once": run.figures["pg_found_once"],
        "pg_missing": run.figures["pg_missing"],
        "pg_doubled": run.figures["pg_doubled"],
        "pg_wrong_seq": run.figures["pg_wrong_seq"],
        "violations": len(run.violations),
    }
    width = max(map(len, figures))
    print("\nchaos run")
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    for text in run.violations[:50]:
        print(f"  VIOLATION {text}")
    print(json.dumps({**figures, "violation_samples": run.violations[:50]}))
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, "violation_samples": run.violations}, indent=2))
    if run.violations:
        print(f"(logs in {workdir}; PostgreSQL's data and log in {postgres.data_dir.parent})")
    else:  # tens of MB a run: kept only to look into a failure
        shutil.rmtree(postgres.data_dir.parent, ignore_errors=True)
        print(f"(logs in {workdir})")
    return 1 if run.violations else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.chaos", description=CHAOS_DOC.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load and chaos (default 60)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--customers", type=int, default=12)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--capacity", type=int, default=2, help="sessions per agent")
    parser.add_argument("--kill-every", type=float, default=5.0, help="mean seconds between two kills")
    parser.add_argument("--sigterm-share", type=float, default=0.2, help="share of stops by SIGTERM, not -9")
    parser.add_argument("--node-ttl", type=float, default=2.0, help="SWITCHBOARD_NODE_TTL_S of the nodes")
    parser.add_argument("--grace", type=float, default=15.0, help="SWITCHBOARD_DISCONNECT_GRACE_S of the nodes")
    parser.add_argument(
        "--redis-outage",
        type=float,
        default=0,
        help="halfway through, kill Redis (-9) and restart it after this many seconds (0: never)",
    )
    parser.add_argument(
        "--postgres-kills",
        type=int,
        default=0,
        help="kill PostgreSQL (-9) this many times, spread over the run, each restarted on its data (default 0)",
    )
    parser.add_argument(
        "--postgres-outage", type=float, default=3.0, help="seconds PostgreSQL stays down after a kill (default 3)"
    )
    parser.add_argument(
        "--archive-timeout",
        type=float,
        default=60.0,
        help="at the end, the longest wait for the archive to drain into PostgreSQL (default 60)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", default=None, help="where the run's Redis data and node logs go")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2 (one stays up while another is killed)")
    # Should the event loop itself get stuck, this thread prints every stack and ends the run.
    bound = args.duration + BOUND_S + args.archive_timeout + args.postgres_kills * args.postgres_outage
    faulthandler.dump_traceback_later(bound + 30, exit=True)
    try:
        return asyncio.run(asyncio.wait_for(main_async(args), bound))
    except TimeoutError:
        print(f"chaos: the run did not finish within {bound:.0f} s", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"chaos: {exc}", file=sys.stderr)
        return 2
