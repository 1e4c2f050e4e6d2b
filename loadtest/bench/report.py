"""The report: ratios to the baselines, the scale-out projection, the printed tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 2)


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """Each Switchboard figure as a ratio to each baseline (higher is better for rates, lower for costs)."""
    by = {r["target"]: r for r in report["relay"]}
    ratios: dict[str, Any] = {}
    for protocol in ("json", "msgpack"):
        sb = by.get(f"switchboard-{protocol}")
        if sb is None:
            continue
        for base in ("minimal", "socketio"):
            b = by.get(base)
            if b is None:
                continue
            ratios[f"{protocol}/{base}"] = {
                "relay_throughput": ratio(sb["saturated"]["msgs_per_s"], b["saturated"]["msgs_per_s"]),
                "relay_p99_paced": ratio(sb["paced"]["latency"]["p99_ms"], b["paced"]["latency"]["p99_ms"]),
                "relay_p50_paced": ratio(sb["paced"]["latency"]["p50_ms"], b["paced"]["latency"]["p50_ms"]),
                "handshakes_per_s": ratio(sb["idle"]["handshakes_per_s"], b["idle"]["handshakes_per_s"]),
                "rss_per_idle_socket": ratio(sb["idle"]["rss_per_idle_socket_kb"], b["idle"]["rss_per_idle_socket_kb"]),
                "server_cpu_per_msg": ratio(
                    sb["saturated"]["server_cpu_us_per_msg"], b["saturated"]["server_cpu_us_per_msg"]
                ),
                # throughput at equal CPU: what a core would carry, less sensitive to a shared machine
                "relay_msgs_per_server_core": ratio(
                    b["saturated"]["server_cpu_us_per_msg"], sb["saturated"]["server_cpu_us_per_msg"]
                ),
            }
    if "minimal" in by and "socketio" in by:
        # The ceiling of any "x socketio" figure on this machine: a relay that only forwards.
        m, sio = by["minimal"]["saturated"], by["socketio"]["saturated"]
        ratios["minimal/socketio"] = {
            "relay_throughput": ratio(m["msgs_per_s"], sio["msgs_per_s"]),
            "relay_msgs_per_server_core": ratio(sio["server_cpu_us_per_msg"], m["server_cpu_us_per_msg"]),
        }
    if report.get("scale_out"):
        one = by.get("switchboard-json")
        many = report["scale_out"]
        if one:
            ratios["scale_out"] = {
                "nodes": many["nodes"],
                "relay_throughput": ratio(many["saturated"]["msgs_per_s"], one["saturated"]["msgs_per_s"]),
                "projected_with_a_core_per_node": scale_out_projection(
                    one["saturated"], many["saturated"], many["nodes"]
                ),
            }
    if report.get("archive"):
        a = report["archive"]
        ratios["archive_on/off"] = {
            "relay_throughput": a["ratio_on_off"],
            "relay_msgs_per_server_core": a["msgs_per_server_core_on_off"],
        }
    return ratios


def scale_out_projection(one: dict[str, Any], many: dict[str, Any], nodes: int) -> float | None:
    """What `nodes` nodes would carry against one if each had a core of its own, from
    the CPU each message cost in the two runs: `nodes` x (one node's CPU per message /
    the nodes' CPU per message, summed), capped where Redis's core is full (one node's
    CPU per message / Redis's). A projection, printed as one: where the machine has
    fewer cores than nodes + Redis + client, the measured figure is the core count's."""
    c1, cn = one["server_cpu_us_per_msg"], many["server_cpu_us_per_msg"]
    redis = many["redis_cpu_us_per_msg"]
    if not (c1 and cn and redis):
        return None
    return round(min(nodes * c1 / cn, c1 / redis), 2)


def table(report: dict[str, Any]) -> str:
    by = {r["target"]: r for r in report["relay"]}
    names = [n for n in ("switchboard-json", "switchboard-msgpack", "minimal", "socketio") if n in by]
    rows: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
        ("relay throughput (msg/s)", lambda r: r["saturated"]["msgs_per_s"]),
        ("relay p50 at saturation (ms)", lambda r: r["saturated"]["latency"]["p50_ms"]),
        ("relay p99 at saturation (ms)", lambda r: r["saturated"]["latency"]["p99_ms"]),
        ("relay p50 paced (ms)", lambda r: r["paced"]["latency"]["p50_ms"]),
        ("relay p99 paced (ms)", lambda r: r["paced"]["latency"]["p99_ms"]),
        ("errors answered at saturation", lambda r: r["saturated"]["errors"]),
        ("server CPU % at saturation", lambda r: r["saturated"]["cpu_percent"]["server"]),
        ("server CPU per msg (us)", lambda r: r["saturated"]["server_cpu_us_per_msg"]),
        ("msg/s per server core (1e6 / CPU per msg)", lambda r: round(1e6 / r["saturated"]["server_cpu_us_per_msg"])),
        ("Redis CPU per msg (us)", lambda r: r["saturated"]["redis_cpu_us_per_msg"]),
        ("handshakes per s", lambda r: r["idle"]["handshakes_per_s"]),
        ("RSS per idle socket (KB)", lambda r: r["idle"]["rss_per_idle_socket_kb"]),
    ]
    plan = report["plan"]
    m = report["machine"]
    lines = [
        f"machine: {m['cpus']} x {m['cpu_model']}, Python {m['python']}; load average "
        f"{m['load_avg_at_start'][0]} at the start, {m.get('load_avg_at_end', ['?'])[0]} at the end",
        "",
    ]
    if names:
        lines += [
            f"relay: {plan['chats']} chats; paced: one message per chat every {plan['paced_interval_s']} s; "
            f"saturated: {plan['window']} in flight per chat; idle: {plan['handshakes']} sockets",
            "",
        ]
        lines += relay_table(by, names, rows)
    return "\n".join(lines + rest_tables(report))


def relay_table(
    by: dict[str, Any], names: list[str], rows: list[tuple[str, Callable[[dict[str, Any]], Any]]]
) -> list[str]:
    lines: list[str] = []
    header = ["figure", *names]
    ratio_names = [
        f"{p}/{b}" for p in ("json", "msgpack") for b in ("minimal", "socketio") if f"switchboard-{p}" in by and b in by
    ]
    ceiling = "minimal" in by and "socketio" in by  # what only forwarding gives against socketio
    header += [f"x {n}" for n in ratio_names] + (["minimal/socketio"] if ceiling else [])
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for label, get in rows:
        cells = [label]
        values = {}
        for n in names:
            try:
                values[n] = get(by[n])
            except (KeyError, TypeError):
                values[n] = None
            cells.append("-" if values[n] is None else str(values[n]))
        for rn in ratio_names:
            p, b = rn.split("/")
            cells.append(str(ratio(values.get(f"switchboard-{p}"), values.get(b)) or "-"))
        if ceiling:
            cells.append(str(ratio(values.get("minimal"), values.get("socketio")) or "-"))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def rest_tables(report: dict[str, Any]) -> list[str]:
    by = {r["target"]: r for r in report["relay"]}
    lines: list[str] = []
    if report.get("routing"):
        lines += [
            "",
            "| routing (start_chat -> offer) | starts/s achieved | p50 (ms) | p99 (ms) | unrouted | server CPU % | Redis CPU % |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in report["routing"]:
            cpu = r["cpu_percent"]
            lines.append(
                f"| {r['chat_starts_per_s']}/s, {r['agents']} agents | {r['achieved_per_s']} | "
                f"{r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['unrouted']} | "
                f"{cpu.get('server')} | {cpu.get('redis')} |"
            )
    if report.get("scale_out"):
        s = report["scale_out"]
        one = by.get("switchboard-json")
        lines += [
            "",
            "| scale-out (JSON) | relay msg/s | x one node | nodes' CPU per msg (us) | Redis CPU per msg (us) | CPU % (nodes, Redis, client) |",
            "|---|---|---|---|---|---|",
        ]
        if one:
            o = one["saturated"]
            lines.append(
                f"| 1 node | {o['msgs_per_s']} | 1.0 | {o['server_cpu_us_per_msg']} | {o['redis_cpu_us_per_msg']} | {o['cpu_percent']} |"
            )
        m = s["saturated"]
        lines.append(
            f"| {s['nodes']} nodes | {m['msgs_per_s']} | "
            f"{ratio(m['msgs_per_s'], one['saturated']['msgs_per_s']) if one else '-'} | "
            f"{m['server_cpu_us_per_msg']} | {m['redis_cpu_us_per_msg']} | {m['cpu_percent']} |"
        )
        if one:
            projected = scale_out_projection(one["saturated"], m, s["nodes"])
            lines.append(
                f"\nprojected with a core per node (from the CPU per message above, capped by Redis's core): "
                f"{projected} x one node"
            )
    if report.get("archive"):
        lines += archive_table(report["archive"])
    if report.get("growth"):
        g = report["growth"]
        rate = report["plan"]["growth_rate"]
        lines += [
            "",
            f"| routing at {rate} starts/s, 10 agents taking chats, plus idle agents passed over | p50 (ms) | p99 (ms) | Redis CPU % |",
            "|---|---|---|---|",
        ]
        for r in g["routing_by_agents"]:
            lines.append(
                f"| {r['idle_agents']} idle agents | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['cpu_percent'].get('redis')} |"
            )
        lines += [
            "",
            f"| routing at {rate} starts/s, sessions waiting ahead for a skill nobody has | p50 (ms) | p99 (ms) | unrouted | Redis CPU % |",
            "|---|---|---|---|---|",
        ]
        for r in g["routing_by_waiting"]:
            lines.append(
                f"| {r['waiting']} waiting | {r['latency']['p50_ms']} | {r['latency']['p99_ms']} | {r['unrouted']} | {r['cpu_percent'].get('redis')} |"
            )
        lines += [
            "",
            "| open sockets | handshakes/s | RSS per socket (KB) | server RSS (MB) | relay p50 / p99, paced (ms) |",
            "|---|---|---|---|---|",
        ]
        for r in g["sockets"]:
            lat = r["relay"]["latency"]
            lines.append(
                f"| {r['sockets']} | {r['handshakes_per_s']} | {r['rss_per_idle_socket_kb']} | "
                f"{round(r['server_rss_kb'] / 1024, 1)} | {lat['p50_ms']} / {lat['p99_ms']} |"
            )
    return lines


def archive_table(a: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"| archive (JSON, one node, saturated relay; archiving on: interval {a.get('archive_interval_s')}) | relay msg/s | p99 (ms) | server CPU per msg (us) "
        "| PostgreSQL CPU % | rows/s into PostgreSQL | lag max (s) | oldest mark max (s) | drained after load (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in a["runs"]:
        s, w = r["saturated"], r.get("archive", {})
        lines.append(
            f"| archiving {r['archiving']} | {s['msgs_per_s']} | {s['latency']['p99_ms']} | "
            f"{s['server_cpu_us_per_msg']} | {s['cpu_percent'].get('postgres', '-')} | "
            f"{w.get('ingested_rows_per_s', '-')} | {w.get('lag_max_s', '-')} | "
            f"{w.get('oldest_mark_max_s', '-')} | {w.get('drained_after_load_s', '-')} |"
        )
    lines += [
        "",
        f"relay throughput, archiving on / off: {a['throughput_on']} / {a['throughput_off']} msg/s = "
        f"{a['ratio_on_off']} (target >= 0.85); the node's CPU per message on / off: "
        f"{a['server_cpu_us_per_msg_on']} / {a['server_cpu_us_per_msg_off']} us, msg/s per server core on/off "
        f"{a['msgs_per_server_core_on_off']}",
        f"archive ingestion at saturation: {a['ingested_rows_per_s']} rows/s; lag (delivery -> row) max "
        f"{a['lag_max_s']} s; oldest dirty mark max {a['oldest_mark_max_s']} s; every delivered message "
        f"archived: {'yes' if a['all_delivered_archived'] else 'NO'}",
    ]
    f = a.get("finished")
    if f:
        lines += [
            f"Redis per finished conversation after the live window, over {f['chats']} chats "
            f"({f['chats_per_s']} chats/s, trimmed {f['trimmed_after_s']} s after the last): "
            f"used_memory {f['used_memory_per_chat_b']} B, MEMORY USAGE of keys {f['key_bytes_per_chat_b']} B, "
            f"{f['keys_per_chat']} keys (target <= 300 B)",
            "",
            "| what grew, by kind of key | keys | bytes per chat |",
            "|---|---|---|",
        ]
        for kind, g in f["grown_by_kind"].items():
            lines.append(f"| {kind} | {g['keys']} | {g['bytes_per_chat']} |")
    return lines
