"""The load-test tools keep working: the benchmark reports every figure, and the
Locust users complete a chat against a real node. Nothing here asserts a timing."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ADMIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, **extra}


async def run(args: list[str], timeout: float, **extra: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        env=env(**extra),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
        raise AssertionError(
            f"{args[2:4]} did not finish in {timeout} s:\n{out.decode(errors='replace')[-3000:]}"
        ) from None
    return proc.returncode or 0, out.decode(errors="replace")


def assert_figure(value: Any, where: str) -> None:
    assert isinstance(value, (int, float)) and value >= 0, f"{where} is {value!r}"


async def smoke_report(tmp_path: Path) -> tuple[dict[str, Any], str]:
    """A `--smoke` bench of every phase, in one run: its Redis, PostgreSQL and harness start once."""
    out = tmp_path / "report.json"
    code, text = await run([sys.executable, "-m", "loadtest.bench", "--smoke", "--growth", "--json", str(out)], 280)
    assert code == 0, text[-3000:]
    return json.loads(out.read_text()), text


@pytest.mark.slow
@pytest.mark.timeout(300)  # about 30 s; a machine busy with other suites takes longer
async def test_bench_reports_every_figure_of_every_phase(tmp_path):
    report, text = await smoke_report(tmp_path)
    assert_relay_routing_and_scale_out(report, text)
    assert_archive(report, text)
    assert_growth(report)


def assert_relay_routing_and_scale_out(report: dict[str, Any], text: str) -> None:
    targets = {r["target"]: r for r in report["relay"]}
    assert set(targets) == {"switchboard-json", "switchboard-msgpack", "minimal", "socketio"}
    for name, r in targets.items():
        for figure in ("handshakes_per_s", "rss_per_idle_socket_kb"):
            assert_figure(r["idle"][figure], f"{name} {figure}")
        for phase in ("paced", "saturated"):
            for q in ("p50_ms", "p99_ms"):
                assert_figure(r[phase]["latency"][q], f"{name} {phase} {q}")
            assert r[phase]["errors"] == 0, f"{name} {phase}: the server refused messages"
        assert_figure(r["saturated"]["msgs_per_s"], f"{name} throughput")
        assert_figure(r["saturated"]["server_cpu_us_per_msg"], f"{name} CPU per message")
        assert_figure(r["saturated"]["redis_cpu_us_per_msg"], f"{name} Redis CPU per message")

    (routing,) = report["routing"]
    assert routing["unrouted"] == 0 and routing["latency"]["n"] == routing["chats"]
    assert_figure(routing["latency"]["p99_ms"], "routing p99")
    assert_figure(routing["cpu_percent"]["redis"], "Redis CPU while routing")

    assert report["scale_out"]["nodes"] == 2
    assert_figure(report["scale_out"]["saturated"]["msgs_per_s"], "throughput of several nodes")

    for pair in ("json/minimal", "json/socketio", "msgpack/minimal", "msgpack/socketio"):
        for figure in (
            "relay_throughput",
            "relay_p99_paced",
            "handshakes_per_s",
            "rss_per_idle_socket",
            "server_cpu_per_msg",
        ):
            assert_figure(report["ratios"][pair][figure], f"{pair} {figure}")
    assert_figure(report["ratios"]["scale_out"]["relay_throughput"], "scale-out ratio")
    assert_figure(report["ratios"]["scale_out"]["projected_with_a_core_per_node"], "projected scale-out")
    assert_figure(report["ratios"]["minimal/socketio"]["relay_throughput"], "the baselines' own ratio")

    # The table printed for people carries the same figures.
    assert "| relay throughput (msg/s) |" in text and "x json/minimal" in text
    assert "minimal/socketio" in text and "projected with a core per node" in text


def assert_archive(report: dict[str, Any], text: str) -> None:
    archive = report["archive"]
    assert [run["archiving"] for run in archive["runs"]] == ["off", "on"]
    for figure in ("throughput_on", "throughput_off", "ratio_on_off", "ingested_rows_per_s", "lag_max_s"):
        assert_figure(archive[figure], f"archive {figure}")
    assert archive["all_delivered_archived"] is True
    finished = archive["finished"]
    assert finished["chats"] == report["plan"]["finished_chats"]
    assert_figure(finished["trimmed_after_s"], "time until the finished chats left Redis")
    # Every finished chat left Redis: what stays is a few bytes of per-agent bookkeeping.
    assert finished["keys_per_chat"] == 0
    assert "relay throughput, archiving on / off" in text and "Redis per finished conversation" in text


def assert_growth(report: dict[str, Any]) -> None:
    growth = report["growth"]
    assert [r["idle_agents"] for r in growth["routing_by_agents"]] == report["plan"]["growth_agents"]
    assert [r["waiting"] for r in growth["routing_by_waiting"]] == report["plan"]["growth_waiting"]
    assert [r["sockets"] for r in growth["sockets"]] == report["plan"]["growth_sockets"]
    for r in growth["routing_by_agents"] + growth["routing_by_waiting"]:
        assert_figure(r["latency"]["p99_ms"], "growth routing p99")


def test_scale_out_projection_is_the_cpu_per_message_ratio_capped_by_redis():
    from loadtest.bench import scale_out_projection

    one = {"server_cpu_us_per_msg": 120.0, "redis_cpu_us_per_msg": 30.0}
    # Three nodes that spend what one spends per message carry three times as much ...
    assert scale_out_projection(one, {"server_cpu_us_per_msg": 120.0, "redis_cpu_us_per_msg": 30.0}, 3) == 3.0
    # ... less when spreading costs CPU ...
    assert scale_out_projection(one, {"server_cpu_us_per_msg": 150.0, "redis_cpu_us_per_msg": 30.0}, 3) == 2.4
    # ... and never more than Redis's one core carries (120 / 60 us: 2 x one node).
    assert scale_out_projection(one, {"server_cpu_us_per_msg": 120.0, "redis_cpu_us_per_msg": 60.0}, 3) == 2.0
    assert scale_out_projection(one, {"server_cpu_us_per_msg": None, "redis_cpu_us_per_msg": 60.0}, 3) is None


def locust_stats(prefix: Path) -> dict[str, dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f) if row["Type"] == "WS"}


@pytest.mark.slow
async def test_locust_customer_and_agent_complete_a_chat_against_a_real_node(sb, tmp_path):
    prefix = tmp_path / "locust"
    code, text = await run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            "loadtest/locustfile.py",
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "10s",
            "--stop-timeout",
            "3",
            "--host",
            sb.node.base,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        90,
        SWITCHBOARD_ADMIN_TOKEN=ADMIN_TOKEN,
        LOAD_THINK_MIN_S="0.05",
        LOAD_THINK_MAX_S="0.2",
        LOAD_MESSAGES="2",
        LOAD_CUSTOMERS_PER_AGENT="1",
        LOAD_QUEUE="support",
    )
    stats = locust_stats(prefix)
    # One whole chat, each round trip reported: the customer's side...
    for name in (
        "hello",
        "start_chat",
        "connected",
        "message",
        "end_chat",
        "csat",
        # ...and the agent's.
        "agent hello",
        "set_state",
        "accept",
        "relay",
        "wrap_up",
    ):
        assert name in stats and int(stats[name]["Request Count"]) >= 1, (name, sorted(stats), text[-2000:])
    failed = {name: row["Failure Count"] for name, row in stats.items() if row["Failure Count"] != "0"}
    assert not failed, (failed, Path(f"{prefix}_failures.csv").read_text())
    assert code == 0, text[-2000:]

    # The chats really happened on the node: the events stream saw them wrapped up and rated.
    events = (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]
    kinds = {e["type"] for e in events}
    assert {"session.connected", "session.wrapped_up", "csat.submitted"} <= kinds
