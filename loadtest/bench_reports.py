"""How long the reports take over months of history: the queue and agent reports, by day and by hour.

    python -m loadtest.bench_reports [--days 90] [--seats 200] [--repeat 5] [--json out.json]

Starts an embedded Redis and PostgreSQL, fills PostgreSQL with loadtest/report_data.py
(`--days` of a `--seats` centre, rolled up), starts a node on them and asks it over HTTP
for each report over the whole range, `--repeat` times, printing the median and the
slowest answer, its rows and its size. With `--base URL --token T` it asks a running
node instead (whose PostgreSQL report_data.py filled) and starts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from switchboard.embedded import EmbeddedRedis, find_redis_binary
from switchboard.embedded_postgres import EmbeddedPostgres

from .bench.processes import Server, child_env, free_port
from .report_data import QUEUES, load

ADMIN_TOKEN = "bench-reports-admin"
#: (name, path, query): each timed over the whole range
CASES = [
    ("queues by day", "/api/v1/reports/queues", {"interval": "day"}),
    ("queues by hour", "/api/v1/reports/queues", {"interval": "hour"}),
    ("one queue by hour", "/api/v1/reports/queues", {"interval": "hour", "queue": QUEUES[0]}),
    ("agents by day", "/api/v1/reports/agents", {"interval": "day"}),
    ("agents by hour", "/api/v1/reports/agents", {"interval": "hour"}),
    ("one agent by hour", "/api/v1/reports/agents", {"interval": "hour", "agent": "agent000"}),
    ("interactions, first page", "/api/v1/reports/interactions", {"limit": "500"}),
]


@asynccontextmanager
async def embedded_node(workdir: Path, days: int, seats: int) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A node on an embedded Redis and a PostgreSQL filled with `days` of history; its URL and the load's figures."""
    redis = EmbeddedRedis(
        workdir / "redis", binary=shutil.which("redis-server") or find_redis_binary(), port=free_port()
    )
    # the socket of PostgreSQL lives in its data directory: a short path under /tmp
    postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="sb-reports-pg-")) / "pg", port=free_port())
    redis_url, database_url = redis.start(), postgres.start()
    server = None
    try:
        loaded = await load(database_url, days, seats, log=lambda line: print(line, file=sys.stderr))
        port = free_port()
        env = child_env(
            {
                "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
                "SWITCHBOARD_SECRET": "bench-reports-secret",
                "SWITCHBOARD_DATA_DIR": str(workdir / "sb-data"),
                "SWITCHBOARD_DATABASE_URL": database_url,
            }
        )
        args = [sys.executable, "-m", "switchboard", "serve", "--port", str(port), "--redis-url", redis_url]
        server = Server(f"switchboard:{port}", [*args, "--log-level", "warning"], port, env, workdir / "node.log")
        await server.ready("/readyz")
        yield f"http://127.0.0.1:{port}", loaded
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(postgres.data_dir.parent, ignore_errors=True)


async def time_reports(base: str, token: str, days: int, repeat: int) -> list[dict[str, Any]]:
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    span = {"from": (end - timedelta(days=days)).isoformat(), "to": end.isoformat()}
    results = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as http:
        for name, path, query in CASES:
            took, size, rows = [], 0, 0
            for _ in range(repeat):
                started = time.perf_counter()
                answer = await http.get(path, params={**span, **query})
                took.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")
                size, rows = len(answer.content), len(answer.json()["rows"])
            results.append(
                {
                    "report": name,
                    "rows": rows,
                    "kb": round(size / 1024),
                    "median_ms": round(statistics.median(took) * 1000),
                    "max_ms": round(max(took) * 1000),
                }
            )
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| report | rows | size (KB) | median (ms) | slowest (ms) |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['report']} | {r['rows']} | {r['kb']} | {r['median_ms']} | {r['max_ms']} |" for r in results]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.base:
        return {"reports": await time_reports(args.base, args.token, args.days, args.repeat)}
    with tempfile.TemporaryDirectory(prefix="sb-bench-reports-") as workdir:
        async with embedded_node(Path(workdir), args.days, args.seats) as (base, loaded):
            return {"data": loaded, "reports": await time_reports(base, ADMIN_TOKEN, args.days, args.repeat)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seats", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--base", help="a running node's URL: time its reports, start nothing")
    parser.add_argument("--token", default=ADMIN_TOKEN, help="the admin token of --base")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if "data" in result:
        print(json.dumps(result["data"]))
    print(table(result["reports"]))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
