"""One bench run from start to end, and its command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis as redis_sync

from switchboard.embedded import EmbeddedRedis, find_redis_binary
from switchboard.embedded_postgres import EmbeddedPostgres

from .archive import ArchiveWatch, finished_conversations
from .measure import Relay, close_all, measure_idle, measure_routing
from .plan import Plan
from .processes import free_port, tree_cpu_s
from .report import summarise, table
from .targets import MinimalRelay, SocketIORelay, Switchboard, Target

# ---------------------------------------------------------------- the run


class Bench:
    def __init__(self, plan: Plan, workdir: Path, log: Callable[[str], None]) -> None:
        self.plan = plan
        self.workdir = workdir
        self.log = log
        binary = shutil.which("redis-server") or find_redis_binary()
        self.redis = EmbeddedRedis(workdir / "redis", binary=binary, port=free_port())
        self.redis_url = self.redis.start()
        self.redis_pid = self.redis.pid or 0
        # The nodes' system of record. Its socket is in its data directory: a short path
        # under /tmp, which the `postgres` user may pass through when we run as root.
        self.postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="sb-bench-pg-")) / "pg", port=free_port())
        try:
            self.database_url = self.postgres.start()
        except BaseException:
            self.redis.stop()
            raise
        self.profile_dir: Path | None = None
        self.archive_interval: float | None = None  # the archiving-on runs' interval; None: the node's default

    def close(self) -> None:
        self.redis.stop()
        self.postgres.stop()
        shutil.rmtree(self.postgres.data_dir.parent, ignore_errors=True)

    def switchboard(self, protocol: str = "json", **env: str) -> Switchboard:
        """A Switchboard target on this bench's PostgreSQL, with these settings added."""
        return Switchboard(protocol, self.database_url, env)

    def flush(self) -> None:
        """Empties Redis before a measurement; and collects the client's own garbage
        here, between measurements (the run keeps the collector off: a full collection
        of the client's sockets would stall it and count as the server's latency)."""
        gc.collect()
        client = redis_sync.Redis.from_url(self.redis_url)
        client.flushall()
        client.close()

    @contextlib.contextmanager
    def profiled(self, target: Target, phase: str) -> Any:
        """With --profile DIR: py-spy samples the first server process during the phase
        (collapsed stacks in DIR/<target>-<phase>.txt; flamegraph.pl or speedscope read them)."""
        if self.profile_dir is None:
            yield
            return
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = self.profile_dir / f"{target.name}-{phase}.txt"
        spy = subprocess.Popen(
            [
                shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(target.servers[0].pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield
        finally:
            spy.send_signal(2)
            spy.wait(timeout=30)

    def pids(self, target: Target) -> dict[str, int]:
        return {**target.pids(), "redis": self.redis_pid}

    async def relay_target(self, target: Target, nodes: int = 1, idle: bool = True) -> dict[str, Any]:
        plan = self.plan
        self.flush()
        self.log(f"{target.name}: starting {nodes} node(s)")
        await target.start(self.redis_url, self.workdir, nodes)
        try:
            result: dict[str, Any] = {"target": target.name, "nodes": nodes}
            if idle:
                self.log(f"{target.name}: {plan.handshakes} handshakes")
                result["idle"], conns = await measure_idle(target, plan.handshakes, plan.concurrency)
                await close_all(conns)
            self.log(f"{target.name}: {plan.chats} chats")
            pairs = await target.pairs(plan.chats)
            relay = Relay(target, pairs)
            await relay.warm()
            if idle:
                self.log(f"{target.name}: paced relay")
                result["paced"] = await relay.paced(plan.paced_interval_s, plan.paced_s)
            self.log(f"{target.name}: saturated relay")
            with self.profiled(target, "relay"):
                result["saturated"] = await relay.saturate(
                    plan.window, plan.saturate_s, plan.warmup_s, self.pids(target)
                )
            await close_all([c for pair in pairs for c in pair])
            return result
        finally:
            target.stop()

    async def routing(self, protocol: str = "json", rates: list[int] | None = None) -> list[dict[str, Any]]:
        plan = self.plan
        self.flush()
        target = self.switchboard(protocol)
        await target.start(self.redis_url, self.workdir)
        results = []
        try:
            for i, rate in enumerate(rates or [plan.route_rate]):
                self.log(f"routing at {rate} chat starts/s")
                with self.profiled(target, f"routing{i}"):
                    results.append(
                        await measure_routing(
                            target, rate, plan.route_s, plan.route_agents, self.pids(target), queue=f"route{i}"
                        )
                    )
        finally:
            target.stop()
        return results

    async def growth(self) -> dict[str, Any]:
        """Routing latency against agents per queue and waiting sessions per queue, and
        the node's cost and relay latency with more and more open sockets. One node;
        each step in a queue of its own, so what the steps before left does not count."""
        plan = self.plan
        out: dict[str, Any] = {"routing_by_agents": [], "routing_by_waiting": [], "sockets": []}
        self.flush()
        target = self.switchboard("json")
        await target.start(self.redis_url, self.workdir)
        try:
            for i, idle_agents in enumerate(plan.growth_agents):
                self.log(f"growth: routing with {idle_agents} more idle agents in the queue")
                out["routing_by_agents"].append(
                    await measure_routing(
                        target,
                        plan.growth_rate,
                        plan.growth_s,
                        10,
                        self.pids(target),
                        queue=f"agents{i}",
                        idle_agents=idle_agents,
                    )
                )
            for i, waiting in enumerate(plan.growth_waiting):
                self.log(f"growth: routing with {waiting} sessions waiting ahead")
                out["routing_by_waiting"].append(
                    await measure_routing(
                        target,
                        plan.growth_rate,
                        plan.growth_s,
                        10,
                        self.pids(target),
                        queue=f"waiting{i}",
                        waiting=waiting,
                    )
                )
        finally:
            target.stop()
        # RSS per socket needs a fresh process: one that freed memory reuses it.
        for sockets in plan.growth_sockets:
            self.flush()
            target = self.switchboard("json")
            await target.start(self.redis_url, self.workdir)
            try:
                self.log(f"growth: {sockets} open sockets")
                idle, conns = await measure_idle(target, sockets, plan.concurrency)
                pairs = await target.pairs(min(50, plan.chats))
                relay = Relay(target, pairs)
                await relay.warm()
                paced = await relay.paced(plan.paced_interval_s / 2, max(plan.paced_s / 2, 0.5))
                out["sockets"].append({"sockets": sockets, **idle, "relay": paced})
                await close_all([*conns, *(c for p in pairs for c in p)])
            finally:
                target.stop()
        return out

    async def archive_relay(self, archiving: bool) -> dict[str, Any]:
        """The saturated relay of one JSON node, archiving on (the default settings) or
        off (the archiver waits 100,000 s between steps, so it copies nothing); with it
        on, how fast rows reach PostgreSQL and how far behind they are."""
        plan = self.plan
        self.flush()
        on = {"SWITCHBOARD_ARCHIVE_INTERVAL_S": str(self.archive_interval)} if self.archive_interval else {}
        env = on if archiving else {"SWITCHBOARD_ARCHIVE_INTERVAL_S": "100000"}
        target = self.switchboard("json", **env)
        label = "on" if archiving else "off"
        self.log(f"archiving {label}: saturated relay")
        await target.start(self.redis_url, self.workdir)
        try:
            pairs = await target.pairs(plan.chats)
            relay = Relay(target, pairs)
            await relay.warm()
            result: dict[str, Any] = {"archiving": label}
            pg_pid = self.postgres.pid or 0
            if not archiving:
                pg_before, t0 = tree_cpu_s(pg_pid), time.monotonic()
                result["saturated"] = await relay.saturate(
                    plan.window, plan.saturate_s, plan.warmup_s, self.pids(target)
                )
                pg_cpu, elapsed = tree_cpu_s(pg_pid) - pg_before, time.monotonic() - t0
            else:
                async with ArchiveWatch(self.database_url, self.redis_url, relay) as watch:
                    await watch.settle()
                    stop = asyncio.Event()
                    sampler = asyncio.create_task(watch.run(stop))
                    pg_before, t0 = tree_cpu_s(pg_pid), time.monotonic()
                    result["saturated"] = await relay.saturate(
                        plan.window, plan.saturate_s, plan.warmup_s, self.pids(target)
                    )
                    pg_cpu, elapsed = tree_cpu_s(pg_pid) - pg_before, time.monotonic() - t0
                    stop.set()
                    await sampler
                    result["archive"] = watch.figures(plan.warmup_s)
                    drained = await watch.drained(60)
                    _, delivered, rows, _, _ = await watch.sample()
                    result["archive"]["drained_after_load_s"] = None if drained is None else round(drained, 2)
                    result["archive"]["delivered"] = delivered - watch.base[0]
                    result["archive"]["rows_added"] = rows - watch.base[1]
            # PostgreSQL shares the machine's cores with the node, Redis and this client
            result["saturated"]["cpu_percent"]["postgres"] = round(pg_cpu / elapsed * 100, 1)
            await close_all([c for pair in pairs for c in pair])
            return result
        finally:
            target.stop()

    async def archive(self, finished_chats: int) -> dict[str, Any]:
        plan = self.plan
        runs = []
        for i in range(plan.archive_rounds):
            order = (False, True) if i % 2 == 0 else (True, False)
            for archiving in order:
                runs.append(await self.archive_relay(archiving))
        on = [r["saturated"]["msgs_per_s"] for r in runs if r["archiving"] == "on"]
        off = [r["saturated"]["msgs_per_s"] for r in runs if r["archiving"] == "off"]
        watched = [r["archive"] for r in runs if "archive" in r]

        def mean(key: str, label: str) -> float | None:
            values = [r["saturated"][key] for r in runs if r["archiving"] == label and r["saturated"][key]]
            return round(sum(values) / len(values), 1) if values else None

        cpu_on, cpu_off = mean("server_cpu_us_per_msg", "on"), mean("server_cpu_us_per_msg", "off")
        out: dict[str, Any] = {
            "runs": runs,
            "throughput_on": round(sum(on) / len(on), 1),
            "throughput_off": round(sum(off) / len(off), 1),
            "ratio_on_off": round(sum(on) / sum(off), 3) if sum(off) else None,
            # the node's CPU per message: less sensitive to what else the shared machine runs
            "server_cpu_us_per_msg_on": cpu_on,
            "server_cpu_us_per_msg_off": cpu_off,
            "msgs_per_server_core_on_off": round(cpu_off / cpu_on, 3) if cpu_on and cpu_off else None,
            "ingested_rows_per_s": round(sum(w["ingested_rows_per_s"] for w in watched) / len(watched), 1),
            "lag_max_s": max((w["lag_max_s"] for w in watched if w["lag_max_s"] is not None), default=None),
            "oldest_mark_max_s": max((w["oldest_mark_max_s"] for w in watched), default=None),
            "drained_after_load_max_s": max(
                (w["drained_after_load_s"] for w in watched if w["drained_after_load_s"] is not None), default=None
            ),
            "all_delivered_archived": all(w["rows_added"] >= w["delivered"] for w in watched),
        }
        if finished_chats:
            self.flush()
            # a visitor leaves Redis once its disconnect grace ran out and the live window passed
            target = self.switchboard("json", SWITCHBOARD_LIVE_RETENTION_S="1", SWITCHBOARD_DISCONNECT_GRACE_S="1")
            self.log(f"archiving: {finished_chats} chats to their end, live window and disconnect grace 1 s")
            await target.start(self.redis_url, self.workdir)
            try:
                out["finished"] = await finished_conversations(target, self.redis_url, finished_chats)
            finally:
                target.stop()
        out["archive_interval_s"] = self.archive_interval or "default"
        return out


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


async def run(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    plan = Plan.smoke() if args.smoke else Plan.quick() if args.quick else Plan()
    if args.chats:
        plan = Plan(**{**plan.__dict__, "chats": args.chats})
    if args.route_rate:
        plan = Plan(**{**plan.__dict__, "route_rate": args.route_rate})
    if args.archive_rounds:
        plan = Plan(**{**plan.__dict__, "archive_rounds": args.archive_rounds})
    if args.finished_chats is not None:
        plan = Plan(**{**plan.__dict__, "finished_chats": args.finished_chats})
    started = time.monotonic()
    report: dict[str, Any] = {
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "plan": plan.__dict__,
        "machine": machine(),
        "relay": [],
    }
    tmp = tempfile.mkdtemp(prefix="sb-bench-")
    bench = Bench(plan, Path(tmp), log)
    gc.disable()  # see Bench.flush
    bench.profile_dir = args.profile
    bench.archive_interval = args.archive_interval
    try:
        if args.routing_only:
            report["routing"] = await bench.routing()
        elif not args.growth_only and not args.archive_only:
            targets: list[Target] = [bench.switchboard(p) for p in args.protocols]
            baselines = {"minimal": MinimalRelay, "socketio": SocketIORelay}
            targets += [baselines[name]() for name in args.baselines if name]
            for target in targets:
                report["relay"].append(await bench.relay_target(target))
            if not args.no_routing:
                report["routing"] = await bench.routing()
            if plan.nodes > 1 and not args.no_scale_out:
                report["scale_out"] = await bench.relay_target(bench.switchboard("json"), nodes=plan.nodes, idle=False)
        if (not args.no_archive and not args.growth_only and not args.routing_only) or args.archive_only:
            report["archive"] = await bench.archive(plan.finished_chats)
        if args.growth or args.growth_only:
            report["growth"] = await bench.growth()
    except BaseException:
        log(f"failed; the servers' logs are in {tmp}")
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        bench.close()
        gc.enable()
    report["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["ratios"] = summarise(report)
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench", description="Switchboard against a minimal relay and python-socketio"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute and a half")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the harness, measures nothing")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    parser.add_argument("--protocols", default="json,msgpack", type=lambda s: s.split(","))
    parser.add_argument("--chats", type=int, help="concurrent chats for the relay figures")
    parser.add_argument(
        "--baselines",
        default="minimal,socketio",
        type=lambda s: s.split(","),
        help="which baselines to run (comma-separated; empty for none)",
    )
    parser.add_argument("--no-routing", action="store_true")
    parser.add_argument("--no-scale-out", action="store_true")
    parser.add_argument("--routing-only", action="store_true", help="only the routing figure")
    parser.add_argument("--route-rate", type=int, help="chat starts per second for the routing figure")
    parser.add_argument(
        "--no-archive", action="store_true", help="leave out the archive's figures (relay with archiving on/off, ...)"
    )
    parser.add_argument("--archive-only", action="store_true", help="only the archive's figures")
    parser.add_argument(
        "--archive-rounds", type=int, help="pairs of relay runs with archiving off and on (default 3; --quick 2)"
    )
    parser.add_argument(
        "--archive-interval",
        type=float,
        help="SWITCHBOARD_ARCHIVE_INTERVAL_S of the archiving-on runs (default: the node's, 0.5 s)",
    )
    parser.add_argument(
        "--finished-chats",
        type=int,
        help="chats run to their end for Redis bytes per finished conversation (default 10,000; --quick 500; 0: skip)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy each server during its saturated relay; stacks here")
    parser.add_argument("--growth", action="store_true", help="add the growth tables (a few minutes more)")
    parser.add_argument("--growth-only", action="store_true", help="only the growth tables")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    try:
        import uvloop

        report = uvloop.run(run(args, log))
    except ImportError:
        report = asyncio.run(run(args, log))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(table(report))
    print()
    print(json.dumps(report["ratios"], indent=2))
    return 0
