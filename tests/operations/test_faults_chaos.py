"""The chaos run (loadtest/chaos/), short: chats on three nodes while nodes
are killed and restarted; every check of the run must hold."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def test_a_short_chaos_run_loses_doubles_and_overfills_nothing(tmp_path):
    figures_path = tmp_path / "figures.json"
    command = [
        sys.executable,
        "-m",
        "loadtest.chaos",
        "--duration",
        "12",
        "--nodes",
        "3",
        "--customers",
        "8",
        "--agents",
        "4",
        "--kill-every",
        "3",
        "--seed",
        "7",
        "--workdir",
        str(tmp_path),
        "--json",
        str(figures_path),
    ]
    result = await asyncio.to_thread(subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    figures = json.loads(figures_path.read_text())
    assert figures["violations"] == 0
    assert figures["kills"] >= 1 and figures["restarts"] >= 1, figures
    assert figures["reconnects"] >= 1 and figures["messages_acked"] > 0 and figures["sessions"] > 0, figures
