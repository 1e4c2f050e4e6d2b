"""The real run beside the ideal queue and the textbook: figures per scenario and class, as
Markdown tables and as a dict for --json."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from . import theory
from .ideal import simulate
from .real import Measured
from .scenario import ALL, Chat, Scenario

#: How a chat's arrival and how long it holds its agent are read, for an ideal queue fed them.
Reading = Callable[[Measured, Chat], float | None]

#: The times the ideal queue is fed, each step closer to the real run: as drawn; as the clients
#: kept them (start_chat sent, end_session sent after the server connected the chat); as the
#: server saw them (queued, and connected until the wrap-up freed the slot). The differences
#: between these three and the real waits split the real ASA's distance from the ideal into
#: the clients' lateness, the node's latency and the router's own doing.
FEEDINGS: dict[str, tuple[Reading, Reading]] = {
    "drawn": (lambda m, c: c.arrival_s, lambda m, c: c.handle_s),
    "client": (lambda m, c: m.sent_s, lambda m, c: span(m.connected_s, m.end_sent_s)),
    "server": (lambda m, c: m.queued_s, lambda m, c: span(m.connected_s, m.freed_s)),
}


def span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def ideal_waits(scenario: Scenario, measured: list[Measured], arrival: Reading, hold: Reading) -> list[float]:
    """Each chat's wait in the ideal queue fed these times (NaN for a chat that lacks one). The
    server stamps whole milliseconds: of two chats that arrive in the same one, the one connected
    first is taken to have come first (the node may take two sockets' start_chat in either order)."""
    ranks = scenario.ranks()
    fed = {}
    for i, (m, chat) in enumerate(zip(measured, scenario.chats, strict=True)):
        at, held = arrival(m, chat), hold(m, chat)
        if at is not None and held is not None:
            fed[i] = (at, held)
    order = sorted(
        fed, key=lambda i: (fed[i][0], math.inf if measured[i].connected_s is None else measured[i].connected_s, i)
    )
    waits = simulate(
        [fed[i][0] for i in order], [fed[i][1] for i in order], scenario.servers, [ranks[i] for i in order]
    )
    by_chat = [math.nan] * len(measured)
    for i, wait in zip(order, waits, strict=True):
        by_chat[i] = wait
    return by_chat


def compare(scenario: Scenario, measured: list[Measured], within_s: float) -> dict[str, Any]:
    """A scenario's figures: one entry per class (and `all` over them for a priority run)."""
    ideal = {name: ideal_waits(scenario, measured, *reading) for name, reading in FEEDINGS.items()}
    classes = list(scenario.classes) + ([ALL] if len(scenario.classes) > 1 else [])
    return {
        "scenario": scenario.name,
        "servers": scenario.servers,
        "arrival_rate_per_s": round(scenario.arrival_rate, 3),
        "mean_handle_s": scenario.mean_handle_s,
        "utilisation": round(scenario.utilisation, 3),
        "high_share": scenario.high_share,
        "duration_s": scenario.duration_s,
        "within_s": within_s,
        "classes": [class_figures(scenario, measured, ideal, cls, within_s) for cls in classes],
        "gap": gap(scenario, measured),
        "chats": [
            {
                "arrival_s": round(chat.arrival_s, 4),
                "handle_s": round(chat.handle_s, 4),
                "class": chat.cls,
                **{k: None if v is None else round(v, 4) for k, v in dataclasses.asdict(m).items() if k.endswith("_s")},
                **{f"ideal_{name}_wait_s": None if math.isnan(w[i]) else round(w[i], 4) for name, w in ideal.items()},
            }
            for i, (chat, m) in enumerate(zip(scenario.chats, measured, strict=True))
        ],
    }


def class_figures(
    scenario: Scenario, measured: list[Measured], ideal: dict[str, list[float]], cls: str, within_s: float
) -> dict[str, Any]:
    picked = [i for i, chat in enumerate(scenario.chats) if cls in (ALL, chat.cls)]
    real = [measured[i].server_wait_s for i in picked]
    drawn = [ideal["drawn"][i] for i in picked]
    c, lam, mu = scenario.servers, scenario.arrival_rate, scenario.service_rate
    if cls == ALL:
        theory_asa = theory.average_speed_of_answer(c, lam, mu)
    else:
        theory_asa = theory.priority_waits(c, scenario.class_rates(), mu)[scenario.classes.index(cls)]
    asa = {
        "real": mean_ms(real),
        "real_customer_clock": mean_ms([measured[i].customer_wait_s for i in picked]),
        "ideal": mean_ms(drawn),
        "ideal_on_client_times": mean_ms([ideal["client"][i] for i in picked]),
        "ideal_on_server_times": mean_ms([ideal["server"][i] for i in picked]),
        "theory": round(1000 * theory_asa, 1),
    }
    return {
        "class": cls,
        "chats": len(picked),
        "answered": sum(w is not None for w in real),
        # chats whose wait is not their wait in the ideal queue fed the server's times (to its ms)
        "off_ideal_on_server_times": sum(
            w is None or not abs(w - ideal["server"][i]) <= 0.0015 for w, i in zip(real, picked, strict=True)
        ),
        "asa_ms": {
            **asa,
            "real_minus_ideal": difference(asa["real"], asa["ideal"]),
            # the three parts of real - ideal
            "clients_lateness": difference(asa["ideal_on_client_times"], asa["ideal"]),
            "node_latency": difference(asa["ideal_on_server_times"], asa["ideal_on_client_times"]),
            "router": difference(asa["real"], asa["ideal_on_server_times"]),
        },
        "waited_percent": {
            "real": percent([w is not None and w > 0 for w in real]),
            "ideal": percent([w > 0 for w in drawn]),
            "theory": round(100 * theory.erlang_c(c, lam / mu), 1),  # the same for every class (PASTA)
        },
        "within_percent": {
            "real": percent([w is not None and w <= within_s for w in real]),
            "ideal": percent([w <= within_s for w in drawn]),
            # no closed form for one priority class
            "theory": round(100 * theory.answered_within(c, lam, mu, within_s), 1) if cls == ALL else None,
        },
    }


#: The steps between the drawn scenario and the server's times, each (what, from, to) of a chat:
#: a name, then how to get its start and its end in seconds (None: not measured).
STEPS: tuple[tuple[str, Reading, Reading], ...] = (
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


def mean_ms(values: Sequence[float | None]) -> float | None:
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
        "Average speed of answer (ms): the real node (the server's clock), the ideal queue fed the same arrival "
        "and handle times, and the textbook (Erlang C; Cobham for a priority class). real − ideal splits into the "
        "clients' lateness, the node's latency and the router's own doing (the ideal queue fed the clients' "
        "times, then the server's); chats off: those whose wait is not their wait in the ideal queue fed the "
        "server's times",
        "",
        "| run | class | chats | real | ideal | real − ideal | clients | node | router | chats off | theory "
        "| real, customer's clock |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
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
                    a["clients_lateness"],
                    a["node_latency"],
                    a["router"],
                    c["off_ideal_on_server_times"],
                    a["theory"],
                    a["real_customer_clock"],
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
