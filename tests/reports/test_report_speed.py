"""The reports' speed tools keep working: loadtest/report_data.py fills an embedded PostgreSQL with a tiny
centre's history and loadtest/bench_reports.py times every report against a node on it. Nothing here
asserts a timing (docs/performance.md has the 90-day figures)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(300)  # about 20 s; a machine busy with other suites takes longer
async def test_the_generator_loads_a_tiny_centre_and_the_bench_times_every_report(tmp_path):
    out = tmp_path / "reports.json"
    path = os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    args = ["-m", "loadtest.bench_reports", "--days", "2", "--seats", "8", "--repeat", "1", "--json", str(out)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    text, _ = await asyncio.wait_for(proc.communicate(), 280)
    assert proc.returncode == 0, text.decode(errors="replace")[-3000:]
    result = json.loads(out.read_text())
    data = result["data"]
    assert (data["days"], data["seats"]) == (2, 8)
    # 8 seats, 2 days: a few hundred events and chats, every one a session row
    assert data["events"] > 4 * data["sessions"] > 0
    reports = {r["report"]: r for r in result["reports"]}
    assert set(reports) == {
        "queues by day",
        "queues by hour",
        "one queue by hour",
        "agents by day",
        "agents by hour",
        "one agent by hour",
        "interactions, first page",
    }
    for name, figures in reports.items():
        assert figures["rows"] > 0 and figures["median_ms"] >= 0 and figures["max_ms"] >= figures["median_ms"], name
    # eight queues and eight agents, on each of the two days
    assert reports["queues by day"]["rows"] == reports["agents by day"]["rows"] == 16
    assert "| queues by day |" in text.decode()
