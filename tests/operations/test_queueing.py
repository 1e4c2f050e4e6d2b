"""The queueing benchmark (loadtest/queueing): its textbook formulas against published
values, its exact simulation against hand-worked queues and against the formulas over a
long run, and the benchmark itself end to end on a real node (no timing asserted)."""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtest.queueing import theory
from loadtest.queueing.ideal import simulate
from loadtest.queueing.scenario import HIGH, LOW, generate

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- Erlang C and Cobham


def test_erlang_c_matches_the_textbook_call_centre():
    # 100 chats in 30 minutes at 180 s each: 10 Erlangs. The published worked example gives
    # P(wait) 68.21 %, 44.94 %, 28.53 %, 17.41 % and ASA 122.8 s, 40.4 s, 17.1 s, 7.8 s
    # on 11 to 14 agents.
    arrival_rate, service_rate = 100 / 1800, 1 / 180
    expected = {11: (0.6821, 122.8), 12: (0.4494, 40.4), 13: (0.2853, 17.1), 14: (0.1741, 7.8)}
    for agents, (waiting, asa) in expected.items():
        assert theory.erlang_c(agents, 10) == pytest.approx(waiting, abs=5e-5)
        assert theory.average_speed_of_answer(agents, arrival_rate, service_rate) == pytest.approx(asa, abs=0.05)
    # and its service level at 20 s on 11 agents: 1 - 0.6821 e^(-(11 - 10) 20 / 180)
    assert theory.answered_within(11, arrival_rate, service_rate, 20) == pytest.approx(
        1 - 0.6821 * math.exp(-20 / 180), abs=1e-4
    )


def test_erlang_c_small_cases_in_closed_form():
    assert theory.erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = ρ
    assert theory.average_speed_of_answer(1, 0.5, 1) == pytest.approx(1.0)  # ρ / (μ - λ)
    assert theory.erlang_c(3, 2) == pytest.approx(4 / 9)
    assert theory.erlang_c(200, 180) < 1  # no factorial overflows
    with pytest.raises(ValueError, match="never settles"):
        theory.erlang_c(3, 3)


def test_cobham_classes_average_to_erlang_c():
    waits = theory.priority_waits(3, [0.5, 1.5], 1)
    assert waits[0] < theory.average_speed_of_answer(3, 2, 1) < waits[1]
    # the conservation law: the classes' waits weighted by their rates are the one-class wait
    assert (0.5 * waits[0] + 1.5 * waits[1]) / 2 == pytest.approx(theory.average_speed_of_answer(3, 2, 1))
    assert theory.priority_waits(4, [3.0], 1) == pytest.approx([theory.average_speed_of_answer(4, 3, 1)])


# ---------------------------------------------------------------- the exact simulation


def test_simulation_of_hand_worked_queues():
    # one agent: each chat waits for the ones before it
    assert simulate([0, 1, 2], [2, 2, 2], 1) == [0, 1, 2]
    # two agents: the third chat takes the first agent to be free (at 1.5)
    assert simulate([0, 0.5, 1], [1.5, 3, 1], 2) == [0, 0, 0.5]
    # non-preemptive priority: the chat in service is not interrupted, and at 3 the
    # urgent chat (class 0) that came at 2 goes before the one that came at 1
    assert simulate([0, 1, 2], [3, 1, 1], 1, ranks=[1, 1, 0]) == [0, 3, 1]
    # a free agent takes a chat at once whatever its class
    assert simulate([0, 5], [1, 1], 1, ranks=[1, 0]) == [0, 0]


@given(
    st.lists(st.tuples(st.floats(0, 10, allow_nan=False), st.floats(0, 10, allow_nan=False)), min_size=1, max_size=40)
)
def test_simulation_of_one_agent_is_lindleys_recursion(gaps_and_handles):
    # W(n+1) = max(0, W(n) + S(n) - A(n+1)): the wait of one agent's queue, computed another way
    arrivals = list(itertools.accumulate(gap for gap, _ in gaps_and_handles))
    handles = [handle for _, handle in gaps_and_handles]
    expected = [0.0]
    for n in range(1, len(arrivals)):
        expected.append(max(0.0, expected[-1] + handles[n - 1] - (arrivals[n] - arrivals[n - 1])))
    assert simulate(arrivals, handles, 1) == pytest.approx(expected, abs=1e-9)
    # one class of priority is first come, first served
    assert simulate(arrivals, handles, 1, ranks=[3] * len(arrivals)) == simulate(arrivals, handles, 1)


def test_simulation_refuses_what_it_cannot_simulate():
    with pytest.raises(ValueError, match="must not decrease"):
        simulate([1, 0], [1, 1], 1)
    with pytest.raises(ValueError, match="one handle time"):
        simulate([0, 1], [1], 1)


def test_long_simulated_runs_meet_erlang_c_and_cobham():
    mmc = generate("fcfs", seed=7, servers=10, utilisation=0.85, mean_handle_s=1.0, duration_s=12_000)
    arrivals = [c.arrival_s for c in mmc.chats]
    handles = [c.handle_s for c in mmc.chats]
    assert len(mmc.chats) / mmc.duration_s == pytest.approx(mmc.arrival_rate, rel=0.02)
    assert statistics.fmean(handles) == pytest.approx(1.0, rel=0.02)
    waits = simulate(arrivals, handles, mmc.servers)
    expected = theory.average_speed_of_answer(mmc.servers, mmc.arrival_rate, mmc.service_rate)
    assert statistics.fmean(waits) == pytest.approx(expected, rel=0.08)
    waited = sum(w > 0 for w in waits) / len(waits)
    assert waited == pytest.approx(theory.erlang_c(mmc.servers, mmc.arrival_rate / mmc.service_rate), abs=0.02)

    classes = generate("p", seed=8, servers=10, utilisation=0.85, mean_handle_s=1.0, duration_s=12_000, high_share=0.3)
    assert sum(c.cls == HIGH for c in classes.chats) / len(classes.chats) == pytest.approx(0.3, abs=0.01)
    waits = simulate([c.arrival_s for c in classes.chats], [c.handle_s for c in classes.chats], 10, classes.ranks())
    cobham = theory.priority_waits(10, classes.class_rates(), classes.service_rate)
    for cls, expected in zip((HIGH, LOW), cobham, strict=True):
        mean = statistics.fmean(w for w, c in zip(waits, classes.chats, strict=True) if c.cls == cls)
        assert mean == pytest.approx(expected, rel=0.1), cls


def test_a_scenario_is_the_same_for_the_same_seed():
    one = generate("a", seed=3, servers=4, utilisation=0.8, mean_handle_s=2, duration_s=60, high_share=0.5)
    assert one == generate("a", seed=3, servers=4, utilisation=0.8, mean_handle_s=2, duration_s=60, high_share=0.5)
    assert one.arrival_rate == pytest.approx(1.6)  # ρ c μ
    assert all(0 <= c.arrival_s < 60 for c in one.chats)


# ---------------------------------------------------------------- the benchmark on a node


@pytest.mark.slow
@pytest.mark.timeout(300)  # about 15 s alone; a machine busy with other suites takes longer
def test_benchmark_answers_every_chat_and_reports_every_figure(tmp_path):
    out = tmp_path / "queueing.json"
    path = os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    args = ["--servers", "2", "--handle-s", "0.3", "--utilisation", "0.6", "--duration-s", "3", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.queueing", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [r["scenario"] for r in report["runs"]] == ["fcfs", "priority"]
    for run in report["runs"]:
        assert [c["class"] for c in run["classes"]] == (["all"] if run["scenario"] == "fcfs" else [HIGH, LOW, "all"])
        for c in run["classes"]:
            where = f"{run['scenario']} {c['class']}"
            assert c["answered"] == c["chats"], f"{where}: a chat was not answered"
            assert isinstance(c["off_ideal_on_server_times"], int), where
            for figure in (
                "real",
                "real_customer_clock",
                "ideal",
                "theory",
                "clients_lateness",
                "node_latency",
                "router",
            ):
                assert isinstance(c["asa_ms"][figure], (int, float)), f"{where} ASA {figure}"
            for fraction in ("waited_percent", "within_percent"):
                assert isinstance(c[fraction]["real"], (int, float)), f"{where} {fraction}"
                assert isinstance(c[fraction]["ideal"], (int, float)), f"{where} {fraction}"
        assert run["classes"][-1]["chats"] == len(run["chats"])  # `all`: every chat, each in the JSON
        for step, figures in run["gap"].items():
            assert isinstance(figures["mean"], (int, float)), f"{run['scenario']} {step}"
    assert "| fcfs | all |" in done.stdout and "| priority | high |" in done.stdout
