"""The real run beside the ideal queue and the textbook: figures per scenario and class, as
Markdown tables and as a dict for --json."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

from . import theory
from .ideal import simulate
from .real import Measured
from .scenario import ALL, Chat, Scenario


def compare(scenario: Scenario, measured: list[Measured], within_s: float) -> dict[str, Any]:
    """A scenario's figures: one entry per class (and `all` over them for a priority run)."""
    ranks = scenario.ranks()
    ideal = simulate(
        [c.arrival_s for c in scenario.chats], [c.handle_s for c in scenario.chats], scenario.servers, ranks
    )
    on_server_times = ideal_on_server_times(scenario, measured, ranks)
    rates = scenario.class_rates()
    cobham = theory.priority_waits(scenario.servers, rates, scenario.service_rate)
    classes: list[dict[str, Any]] = []
    for cls in (*scenario.classes, ALL) if len(scenario.classes) > 1 else scenario.classes:
        picked = [i for i, chat in enumerate(scenario.chats) if cls in (ALL, chat.cls)]
        server = [measured[i].server_wait_s for i in picked]
        customer = [measured[i].customer_wait_s for i in picked]
        answered = [w for w in server if w is not None]
        off = [
            i
            for i in picked
            if measured[i].server_wait_s is None or abs((measured[i].server_wait_s or 0) - on_server_times[i]) > 0.0015
        ]
        row: dict[str, Any] = {
            "class": cls,
            "chats": len(picked),
            "answered": len(answered),
            # chats whose wait is not the ideal queue's on the server's times, to the server's ms
            "off_ideal_on_server_times": len(off),
            "asa_ms": {
                "real": mean_ms(server),
                "real_customer_clock": mean_ms(customer),
                "ideal": mean_ms([ideal[i] for i in picked]),
                "ideal_on_server_times": mean_ms([on_server_times[i] for i in picked]),
                "theory": round(
                    1000
                    * (
                        cobham[scenario.classes.index(cls)]
                        if cls != ALL
                        else theory.average_speed_of_answer(
                            scenario.servers, scenario.arrival_rate, scenario.service_rate
                        )
                    ),
                    1,
                ),
            },
            "waited_percent": {
                "real": percent([w is not None and w > 0 for w in server]),
                "ideal": percent([ideal[i] > 0 for i in picked]),
                "theory": round(
                    100 * theory.erlang_c(scenario.servers, scenario.arrival_rate / scenario.service_rate), 1
                ),
            },
            "within_percent": {
                "real": percent([w is not None and w <= within_s for w in server]),
                "ideal": percent([ideal[i] <= within_s for i in picked]),
                "theory": round(
                    100
                    * theory.answered_within(scenario.servers, scenario.arrival_rate, scenario.service_rate, within_s),
                    1,
                )
                if cls == ALL
                else None,  # no closed form for one priority class
            },
        }
        row["asa_ms"]["real_minus_ideal"] = difference(row["asa_ms"]["real"], row["asa_ms"]["ideal"])
        row["asa_ms"]["real_minus_ideal_on_server_times"] = difference(
            row["asa_ms"]["real"], row["asa_ms"]["ideal_on_server_times"]
        )
        classes.append(row)
    return {
        "scenario": scenario.name,
        "servers": scenario.servers,
        "arrival_rate_per_s": round(scenario.arrival_rate, 3),
        "mean_handle_s": scenario.mean_handle_s,
        "utilisation": round(scenario.utilisation, 3),
        "high_share": scenario.high_share,
        "duration_s": scenario.duration_s,
        "within_s": within_s,
        "classes": classes,
        "gap": gap(scenario, measured),
    }


def ideal_on_server_times(scenario: Scenario, measured: list[Measured], ranks: list[int]) -> list[float]:
    """The ideal queue fed the times the server saw: each chat queued when the node queued it
    and holding its agent from its connection until its wrap-up. What is left between the real
    waits and these is the router's own doing; the client's lateness is taken out."""
    order = sorted(
        (i for i, m in enumerate(measured) if m.queued_s is not None and m.connected_s is not None and m.freed_s),
        key=lambda i: (measured[i].queued_s, i),
    )
    waits = simulate(
        [measured[i].queued_s or 0.0 for i in order],
        [(measured[i].freed_s or 0.0) - (measured[i].connected_s or 0.0) for i in order],
        scenario.servers,
        [ranks[i] for i in order],
    )
    by_chat = [math.nan] * len(measured)
    for i, wait in zip(order, waits, strict=True):
        by_chat[i] = wait
    return by_chat


#: The steps between the drawn scenario and the server's times, each (what, from, to) of a chat:
#: a name, then how to get its start and its end in seconds (None: not measured).
STEPS: tuple[tuple[str, Callable[[Measured, Chat], float | None], Callable[[Measured, Chat], float | None]], ...] = (
    ("start_chat sent after its drawn arrival (client)", lambda m, c: c.arrival_s, lambda m, c: m.sent_s),
    ("start_chat sent -> queued (node)", lambda m, c: m.sent_s, lambda m, c: m.queued_s),
    (
        "connected -> assignment at the agent's client (push)",
        lambda m, c: m.connected_s,
        lambda m, c: m.agent_assigned_s,
    ),
    (
        "end_session sent after the handle time (client)",
        lambda m, c: None if m.connected_s is None else m.connected_s + c.handle_s,
        lambda m, c: m.end_sent_s,
    ),
    ("end_session sent -> slot freed by wrap_up (node)", lambda m, c: m.end_sent_s, lambda m, c: m.freed_s),
)


def gap(scenario: Scenario, measured: list[Measured]) -> dict[str, dict[str, float | None]]:
    """Where the real run leaves the drawn scenario, in ms: the client's lateness and the node's
    time at each step. The customer's start_chat reaching the queue late and the slot freed
    after the handle time are what the ideal queue fed the drawn times does not have."""
    figures = {}
    for name, begin, end in STEPS:
        spans = []
        for m, c in zip(measured, scenario.chats, strict=True):
            a, b = begin(m, c), end(m, c)
            if a is not None and b is not None:
                spans.append(b - a)
        figures[name] = spread(spans)
    return figures


def spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p99": None}
    ordered = sorted(values)
    return {
        "mean": round(1000 * statistics.fmean(values), 2),
        "p99": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


def mean_ms(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and not math.isnan(v)]
    return round(1000 * statistics.fmean(known), 1) if known else None


def percent(flags: list[bool]) -> float | None:
    return round(100 * sum(flags) / len(flags), 1) if flags else None


def difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 1)


# ---------------------------------------------------------------- tables


def cell(value: Any) -> str:
    return "–" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


FRACTIONS = ("waited_percent", "within_percent")


def row(*values: Any) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


def tables(results: list[dict[str, Any]]) -> str:
    within_s = results[0]["within_s"]
    lines = [
        *(
            f"{r['scenario']}: c = {r['servers']} agents, λ = {r['arrival_rate_per_s']:g}/s, "
            f"1/μ = {r['mean_handle_s']:g} s, ρ = {r['utilisation']:g}, {r['duration_s']:g} s of arrivals"
            + (f", {100 * r['high_share']:g}% high" if r["high_share"] is not None else "")
            for r in results
        ),
        "",
        "Average speed of answer (ms): the real node (server's clock), the ideal queue fed the same arrival and "
        "handle times, the textbook (Erlang C; Cobham for a priority class); then the real ASA on the customer's "
        "clock, and the ideal queue fed the times the server saw, with the chats whose wait is not its wait",
        "",
        "| run | class | chats | real | ideal | real − ideal | theory | real, customer's clock "
        "| ideal, server's times | chats off it |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for c in r["classes"]:
            a = c["asa_ms"]
            lines.append(
                row(
                    r["scenario"],
                    c["class"],
                    c["chats"] if c["answered"] == c["chats"] else f"{c['answered']} of {c['chats']} answered",
                    a["real"],
                    a["ideal"],
                    a["real_minus_ideal"],
                    a["theory"],
                    a["real_customer_clock"],
                    a["ideal_on_server_times"],
                    c["off_ideal_on_server_times"],
                )
            )
    lines += [
        "",
        "Chats that waited, and answered within the threshold (%): real / ideal / theory",
        "",
        f"| run | class | waited | answered within {within_s:g} s |",
        "| --- | --- | --- | --- |",
    ]
    for r in results:
        for c in r["classes"]:
            waited, within = (" / ".join(cell(c[f][k]) for k in ("real", "ideal", "theory")) for f in FRACTIONS)
            lines.append(row(r["scenario"], c["class"], waited, within))
    lines += [
        "",
        "Where the real run leaves the drawn scenario (ms)",
        "",
        "| run | step | mean | p99 |",
        "| --- | --- | ---: | ---: |",
    ]
    for r in results:
        for step, figures in r["gap"].items():
            lines.append(row(r["scenario"], step, figures["mean"], figures["p99"]))
    return "\n".join(lines)
