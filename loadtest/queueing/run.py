"""The command line: draws the scenarios, runs them on a real node, prints the comparison."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .real import run_real
from .report import compare, tables
from .scenario import Scenario, generate


@dataclass(frozen=True)
class Size:
    servers: int
    mean_handle_s: float
    utilisation: float
    duration_s: float


FULL = Size(servers=10, mean_handle_s=2.0, utilisation=0.85, duration_s=45.0)
QUICK = Size(servers=5, mean_handle_s=1.0, utilisation=0.8, duration_s=15.0)


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    base = QUICK if args.quick else FULL
    size = Size(
        servers=args.servers or base.servers,
        mean_handle_s=args.handle_s or base.mean_handle_s,
        utilisation=args.utilisation or base.utilisation,
        duration_s=args.duration_s or base.duration_s,
    )
    drawn = []
    for offset, name in enumerate(("fcfs", "priority")):
        if name in args.runs:
            drawn.append(
                generate(
                    name,
                    seed=args.seed + offset,
                    servers=size.servers,
                    utilisation=size.utilisation,
                    mean_handle_s=size.mean_handle_s,
                    duration_s=size.duration_s,
                    high_share=args.high_share if name == "priority" else None,
                )
            )
    return drawn


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    drawn = scenarios(args)
    workdir = Path(tempfile.mkdtemp(prefix="sb-queueing-"))
    try:
        played = await run_real(drawn, workdir, log)
    except BaseException:
        log(f"failed; the node's log is in {workdir}")
        raise
    shutil.rmtree(workdir, ignore_errors=True)
    within = args.within_s if args.within_s is not None else drawn[0].mean_handle_s / 8
    return {
        "command": " ".join(["python -m loadtest.queueing", *sys.argv[1:]]),
        "seed": args.seed,
        "runs": [{**compare(p.scenario, p.measured, within), "errors": p.errors} for p in played],
        "cpus": os.cpu_count(),
        "load_avg_at_start": load_at_start,
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        "elapsed_s": round(time.monotonic() - started, 1),
    }


def log(message: str) -> None:
    print(f"[queueing] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.queueing",
        description="The router as an M/M/c queue, beside the ideal queue fed the same times and Erlang C",
    )
    parser.add_argument("--quick", action="store_true", help="5 agents, 1 s handle time, 15 s of arrivals")
    parser.add_argument("--runs", default="fcfs,priority", type=lambda s: s.split(","), help="fcfs, priority or both")
    parser.add_argument("--servers", type=int, help="agents (c), each of capacity 1 (default 10; --quick 5)")
    parser.add_argument("--handle-s", type=float, help="mean handle time 1/μ in seconds (default 2; --quick 1)")
    parser.add_argument("--utilisation", type=float, help="ρ = λ/(cμ) (default 0.85; --quick 0.8)")
    parser.add_argument("--duration-s", type=float, help="seconds of arrivals (default 45; --quick 15)")
    parser.add_argument("--high-share", type=float, default=0.3, help="the share of high-priority chats (0.3)")
    parser.add_argument(
        "--within-s", type=float, help="the service level's threshold (default: an eighth of the mean handle time)"
    )
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    args = parser.parse_args(argv)
    unknown = set(args.runs) - {"fcfs", "priority"}
    if unknown or not args.runs:
        parser.error(f"--runs takes fcfs, priority or both, not {', '.join(sorted(unknown))}")
    if args.utilisation is not None and not 0 < args.utilisation < 1:
        parser.error("--utilisation must be between 0 and 1: at 1 or more the queue grows without end")
    if not 0 <= args.high_share <= 1:
        parser.error("--high-share is a share, from 0 to 1")
    for name in ("servers", "handle_s", "duration_s", "within_s"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be greater than 0")
    try:
        import uvloop

        report = uvloop.run(run(args))
    except ImportError:
        report = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(tables(report["runs"]))
    problems = []
    for r in report["runs"]:
        overall = r["classes"][-1]  # every chat of the run
        if overall["answered"] < overall["chats"]:
            problems.append(f"{r['scenario']}: {overall['chats'] - overall['answered']} chats not answered")
        problems += [f"{r['scenario']}: {error}" for error in r["errors"][:10]]
    for problem in problems:
        log(problem)
    return 1 if problems else 0
