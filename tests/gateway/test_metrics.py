"""Live figures: /metrics, GET /api/v1/stats and the supervisors' feed, against real
nodes over real sockets and a real Redis."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, start_node
from support import eventually
from switchboard.domain.stats import HISTOGRAM_BUCKETS_MS
from switchboard.embedded import EmbeddedRedis
from switchboard.store.scripts import library


class Scrape:
    """One /metrics answer, parsed with prometheus-client's own parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for s in family.samples:
                self.samples[(s.name, frozenset(s.labels.items()))] = s.value

    def __call__(self, name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        assert key in self.samples, f"no sample {name}{labels}; have {sorted(k for k in self.samples if k[0] == name)}"
        return self.samples[key]

    def names(self) -> set[str]:
        return {name for name, _ in self.samples}

    def deployment_wide(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample except the node's own gauges (and the ones that move while the archiver works
        or the clock runs: the longest wait, the archive's backlog and lag)."""
        moving = (
            "switchboard_sockets",
            "switchboard_queue_longest_wait_seconds",
            "switchboard_archive_backlog",
            "switchboard_archive_lag_seconds",
        )
        return {k: v for k, v in self.samples.items() if k[0] not in moving}


async def scrape(base: str) -> Scrape:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(base + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


async def offer_for(agent, conversation_id: str) -> dict[str, Any]:
    return await agent.wait(lambda f: f["type"] == "offer" and f["conversation_id"] == conversation_id)


async def scripted_chats(sb) -> dict[str, Any]:
    """One answered (A, still active), one abandoned (B), one RONA and one decline (C,
    left waiting), one ended and wrapped up (D). Agents: ann available and full,
    bob in rona, cara available."""
    await sb.queue("support", offer_timeout_s=0.5)
    ann = await sb.available_agent("ann", capacity=1)
    _, a = await sb.chat()
    await ann.ok({"type": "accept", "offer_id": (await offer_for(ann, a["conversation_id"]))["offer_id"]})

    customer_b, b = await sb.chat()
    await customer_b.expect("chat.queued")
    await customer_b.ok({"type": "end_chat"})

    bob = await sb.available_agent("bob", capacity=1)
    _, c = await sb.chat()
    await offer_for(bob, c["conversation_id"])
    await bob.expect("offer.revoked", reason="timeout", timeout=5)
    await bob.expect("agent.state", state="rona")

    cara = await sb.available_agent("cara", capacity=1)
    offer = await offer_for(cara, c["conversation_id"])
    await cara.ok({"type": "decline", "offer_id": offer["offer_id"]})

    _, d = await sb.chat()
    offer = await offer_for(cara, d["conversation_id"])
    await cara.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await cara.ok({"type": "end_session", "conversation_id": d["conversation_id"]})
    await cara.ok({"type": "wrap_up", "conversation_id": d["conversation_id"], "code": "resolved"})
    return {"a": a, "b": b, "c": c, "d": d, "ann": ann, "bob": bob, "cara": cara}


# ---------------------------------------------------------------- /metrics


async def test_metrics_show_counters_histograms_and_live_gauges_after_scripted_chats(sb):
    await scripted_chats(sb)
    m = await scrape(sb.node.base)

    assert m("switchboard_store_up") == 1
    assert m("switchboard_sessions_queued_total", queue="support") == 4
    assert m("switchboard_offers_total", queue="support") == 4  # A to ann, C to bob and cara, D to cara
    assert m("switchboard_ronas_total", queue="support") == 1
    assert m("switchboard_declines_total", queue="support") == 1
    assert m("switchboard_abandons_total", queue="support") == 1
    assert m("switchboard_sessions_ended_total", queue="support", reason="customer_abandoned") == 1
    assert m("switchboard_sessions_ended_total", queue="support", reason="agent_ended") == 1
    assert m("switchboard_sessions_ended_total", queue="support", reason="customer_ended") == 0
    assert m("switchboard_wrap_ups_total", queue="support") == 1
    assert m("switchboard_transfers_total", queue="support", reason="requested") == 0
    assert m("switchboard_conferences_total", queue="support") == 0
    assert m("switchboard_agent_state_changes_total", state="rona") == 1
    assert m("switchboard_lifecycle_events_total", type="session.queued") == 4
    for name in ("switchboard_offers", "switchboard_abandons", "switchboard_sessions_ended"):
        assert m.types[name] == "counter"

    # A and D were answered, D was handled; all within the first bucket (5 s)
    assert m.types["switchboard_answer_time_seconds"] == "histogram"
    assert m("switchboard_answer_time_seconds_count", queue="support") == 2
    assert m("switchboard_answer_time_seconds_bucket", queue="support", le="5.0") == 2
    assert m("switchboard_answer_time_seconds_bucket", queue="support", le="3600.0") == 2
    assert m("switchboard_answer_time_seconds_bucket", queue="support", le="+Inf") == 2
    assert 0 <= m("switchboard_answer_time_seconds_sum", queue="support") < 10
    assert m("switchboard_handle_time_seconds_count", queue="support") == 1
    assert m("switchboard_handle_time_seconds_bucket", queue="support", le="+Inf") == 1
    assert 0 <= m("switchboard_handle_time_seconds_sum", queue="support") < 5

    # C waits; ann and cara are available, bob in rona
    assert m("switchboard_queue_waiting_sessions", queue="support") == 1
    assert 0 < m("switchboard_queue_longest_wait_seconds", queue="support") < 30
    assert m("switchboard_queue_agents", queue="support", state="available") == 2
    assert m("switchboard_queue_agents", queue="support", state="rona") == 1
    assert m("switchboard_queue_agents", queue="support", state="not_ready") == 0
    assert m("switchboard_agents", state="available") == 2
    assert m("switchboard_agents", state="rona") == 1
    assert m("switchboard_agents", state="offline") == 0

    node = sb.node.settings.node_id
    assert m("switchboard_sockets", node=node, role="customer") == 4
    assert m("switchboard_sockets", node=node, role="agent") == 3


async def test_a_queue_without_traffic_has_zero_series(sb):
    await sb.queue("sales")
    m = await scrape(sb.node.base)
    assert m("switchboard_offers_total", queue="sales") == 0
    assert m("switchboard_queue_waiting_sessions", queue="sales") == 0
    assert m("switchboard_queue_longest_wait_seconds", queue="sales") == 0
    assert m("switchboard_answer_time_seconds_bucket", queue="sales", le="5.0") == 0
    assert m("switchboard_answer_time_seconds_count", queue="sales") == 0


# ---------------------------------------------------------------- Prometheus's own tools

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "switchboard.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make test` installs Debian's prometheus package"
    return subprocess.run([found, *args], input=stdin, capture_output=True, text=True, timeout=30)


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


@pytest.mark.promtool
async def test_promtool_finds_nothing_to_say_about_the_metrics(sb):
    await scripted_chats(sb)
    text = (await scrape(sb.node.base)).text
    checked = await asyncio.to_thread(promtool, "check", "metrics", stdin=text)
    # `check metrics` lints too (names, units, help texts): any line it prints is a finding.
    assert checked.returncode == 0 and not checked.stdout.strip() and not checked.stderr.strip(), (
        checked.stdout + checked.stderr
    )


@pytest.mark.promtool
def test_the_dashboard_queries_are_promql_that_prometheus_accepts(tmp_path):
    # Prometheus checks a rules file's expressions with its own parser: each panel's
    # query becomes one rule, with Grafana's variables put in as a user would pick them.
    rules = [
        {
            "record": f"switchboard:dashboard_query_{n}",
            "expr": expr.replace("$__rate_interval", "2m").replace("$queue", ".*"),
        }
        for n, expr in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard_rules.json"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{len(rules)} rules found" in checked.stdout


@pytest.mark.promtool
async def test_the_alert_rules_are_valid_and_watch_metrics_that_exist(sb):
    checked = await asyncio.to_thread(promtool, "check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    await scripted_chats(sb)
    exposed = (await scrape(sb.node.base)).names()
    watched = set(re.findall(r"switchboard_[a-z_]+", ALERTS.read_text()))
    assert watched and watched <= exposed, f"alerts on metrics nobody exposes: {sorted(watched - exposed)}"


async def test_the_dashboard_shows_every_metric_and_only_metrics_that_exist(sb):
    await scripted_chats(sb)
    exposed = (await scrape(sb.node.base)).names()
    queried = {name for expr in dashboard_queries() for name in re.findall(r"switchboard_[a-z_]+", expr)}
    assert queried <= exposed, f"the dashboard queries metrics nobody exposes: {sorted(queried - exposed)}"
    families = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in exposed}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in queried}
    assert families <= shown, f"metrics without a panel: {sorted(families - shown)}"


def test_histogram_buckets_are_the_ones_lua_writes():
    match = re.search(r"local HISTOGRAM_BUCKETS_MS\s*=\s*\{([^}]*)\}", library("routing").prelude)
    assert match, "HISTOGRAM_BUCKETS_MS is not generated into the routing library"
    assert tuple(int(x) for x in match.group(1).split(",")) == HISTOGRAM_BUCKETS_MS


async def test_two_nodes_on_one_redis_report_the_same_deployment_figures(sb, make_deployment):
    other = await make_deployment()
    await scripted_chats(sb)
    customer, _ = await other.customer()  # a socket on the second node only
    first, second = await scrape(sb.node.base), await scrape(other.node.base)
    assert first.deployment_wide() == second.deployment_wide()
    assert second("switchboard_ronas_total", queue="support") == 1
    assert first("switchboard_sockets", node=sb.node.settings.node_id, role="agent") == 3
    assert second("switchboard_sockets", node=other.node.settings.node_id, role="agent") == 0
    assert second("switchboard_sockets", node=other.node.settings.node_id, role="customer") == 1
    await customer.close()


async def test_metrics_answer_when_the_store_is_unreachable(redis_server, database_url, tmp_path):
    # A Redis of its own, stopped under the running node.
    own = EmbeddedRedis(tmp_path / "redis", binary=shutil.which("redis-server"), port=free_port())
    own.start()
    node = None
    try:
        node = await start_node(own.url, database_url)
        assert (await scrape(node.base))("switchboard_store_up") == 1
        own.stop()
        m = await scrape(node.base)
        assert m("switchboard_store_up") == 0
        assert m("switchboard_sockets", node=node.settings.node_id, role="agent") == 0
        assert "switchboard_queue_waiting_sessions" not in m.names()
        async with httpx.AsyncClient(base_url=node.base) as client:
            assert (await client.get("/readyz")).status_code == 503
    finally:
        own.stop()
        if node is not None:
            await node.stop()


# ---------------------------------------------------------------- /api/v1/stats


async def events_of(sb, type_: str, conversation_id: str) -> list[dict[str, Any]]:
    listed = await sb.admin("GET", "/api/v1/events?limit=1000")
    return [e for e in listed["events"] if e["type"] == type_ and e.get("conversation_id") == conversation_id]


async def test_stats_for_a_known_scenario(sb):
    # Auto-accept: the first chat is answered in the step that queues it (wait 0,
    # within a 1 ms service level); the third waits for an agent (longer than 1 ms).
    await sb.queue("sales", accept_mode="auto", service_level_s=0.001)
    ann = await sb.available_agent("ann", queues=["sales"], capacity=1)
    _, first = await sb.chat("sales")
    await ann.expect("conversation.assigned", conversation_id=first["conversation_id"])

    abandoning, _ = await sb.chat("sales")
    await abandoning.expect("chat.queued")
    await abandoning.ok({"type": "end_chat"})

    waiting, third = await sb.chat("sales")
    await waiting.expect("chat.queued")
    bob = await sb.available_agent("bob", queues=["sales"], capacity=1)
    await bob.expect("conversation.assigned", conversation_id=third["conversation_id"])

    answer = await sb.admin("GET", "/api/v1/stats")
    assert answer["window_s"] == 900 and answer["truncated"] is False and answer["events_read"] > 0
    assert answer["to"] - answer["from"] == 900_000
    figures = {q["id"]: q for q in answer["queues"]}
    assert set(figures) == {"sales", "support"}
    sales = figures["sales"]
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (3, 2, 1)
    waits = []
    for conv in (first["conversation_id"], third["conversation_id"]):
        (queued,) = await events_of(sb, "session.queued", conv)
        (connected,) = await events_of(sb, "session.connected", conv)
        assert connected["wait_ms"] == connected["ts"] - queued["ts"]
        waits.append(connected["wait_ms"])
    assert waits[0] == 0 and waits[1] > 1
    assert abs(sales["average_speed_of_answer_ms"] - sum(waits) / 2) <= 0.5
    assert sales["abandonment_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert sales["service_level"] == pytest.approx(1 / 3, abs=1e-4)
    assert sales["service_level_s"] == 0.001
    assert 0 < sales["occupancy"] <= 1  # both agents hold a chat; ann since it became available
    assert (sales["waiting"], sales["longest_wait_ms"]) == (0, 0)
    assert sales["agents"] == {"available": 2, "not_ready": 0, "offline": 0, "rona": 0}
    support = figures["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (0, 0, 0)
    assert support["average_speed_of_answer_ms"] is None and support["service_level"] is None
    assert support["occupancy"] is None

    only = await sb.admin("GET", "/api/v1/stats?queue=sales&window_s=60")
    assert [q["id"] for q in only["queues"]] == ["sales"] and only["window_s"] == 60
    assert only["queues"][0]["answered"] == 2


@pytest.mark.parametrize("window", ["0", "86401", "-1", "abc", "1.5"])
async def test_stats_refuse_a_bad_window(sb, window):
    body = await sb.admin("GET", f"/api/v1/stats?window_s={window}", expect=400)
    assert body["error"]["code"] == "bad_request" and "window_s" in body["error"]["message"]


async def test_stats_window_bounds_are_accepted(sb):
    for window in (1, 86400):
        assert (await sb.admin("GET", f"/api/v1/stats?window_s={window}"))["window_s"] == window


async def test_stats_access_admin_all_supervisor_own_queues_agent_none(sb):
    await sb.queue("sales")
    sue = await sb.agent("sue", role="supervisor", queues=["sales"])
    ann = await sb.agent("ann")
    async with httpx.AsyncClient(base_url=sb.node.base) as client:
        assert (await client.get("/api/v1/stats")).status_code == 401
        bad = await client.get("/api/v1/stats", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
        agent = await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {ann}"})
        assert agent.status_code == 403 and agent.json()["error"]["code"] == "forbidden"
        mine = await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {sue}"})
        assert mine.status_code == 200 and [q["id"] for q in mine.json()["queues"]] == ["sales"]
        other = await client.get("/api/v1/stats?queue=support", headers={"Authorization": f"Bearer {sue}"})
        assert other.status_code == 403
    assert (await sb.admin("GET", "/api/v1/stats?queue=nope", expect=404))["error"]["code"] == "not_found"
    assert (await sb.admin("GET", "/api/v1/stats?queue=bad%20id", expect=400))["error"]["code"] == "bad_request"


async def test_reading_events_is_bounded_and_says_so(sb):
    for _ in range(3):
        await sb.chat()
    figures = sb.node.services.figures
    start = (await figures.snapshot()).now_ms - 60_000
    everything = await figures.recent_events(start)
    assert [e["type"] for e in everything.events] == ["session.queued"] * 3 and not everything.truncated
    assert everything.complete_from_ms == start
    capped = await figures.recent_events(start, limit=2)
    assert capped.truncated and len(capped.events) == 2
    assert capped.events == everything.events[1:]  # the newest are kept
    # complete from just after the oldest event kept, by its stream id (Redis's clock): no
    # earlier than the step that wrote it began, and no later than the next chat began
    # (each chat was acknowledged before the next one started)
    kept, next_one = everything.events[1], everything.events[2]
    assert start < kept["ts"] + 1 <= capped.complete_from_ms <= next_one["ts"] + 1
    assert capped.newest_id == everything.newest_id


# ---------------------------------------------------------------- the supervisor feed


def stats_for(frame: dict[str, Any], qid: str) -> dict[str, Any] | None:
    return next((q for q in frame.get("queues", []) if q["id"] == qid), None)


def card_of(conversation_id: str, status: str):
    return lambda f: f["type"] == "card" and f["conversation_id"] == conversation_id and f["card"]["status"] == status


async def test_supervisors_get_stats_and_cards_of_their_queues_only(make_deployment):
    sb = await make_deployment(stats_interval_s=0.2)
    await sb.queue("support")
    await sb.queue("sales")
    sue, welcome = await sb.agent_socket(await sb.agent("sue", role="supervisor", queues=["support"]))
    assert welcome["type"] == "welcome"
    first = await sue.wait(lambda f: f["type"] == "stats")
    assert [q["id"] for q in first["queues"]] == ["support"] and first["window_s"] == 900
    assert isinstance(first["ts"], int)
    assert set(first["queues"][0]) >= {
        "offered",
        "answered",
        "abandoned",
        "average_speed_of_answer_ms",
        "abandonment_rate",
        "service_level",
        "occupancy",
        "waiting",
        "longest_wait_ms",
        "agents",
    }

    # a chat in its queue: a card when queued, offered, connected and ended
    customer, chat = await sb.chat()
    cid = chat["conversation_id"]
    queued = await sue.wait(card_of(cid, "waiting"), consume=False)
    assert queued["card"]["queue"]["id"] == "support" and queued["card"]["session_id"] == chat["session_id"]
    ann = await sb.available_agent("ann")
    offer = await offer_for(ann, cid)
    await sue.wait(card_of(cid, "offered"), consume=False)
    await ann.ok({"type": "accept", "offer_id": offer["offer_id"]})
    connected = await sue.wait(card_of(cid, "active"), consume=False)
    assert [a["id"] for a in connected["card"]["agents"]] == ["ann"]
    await ann.ok({"type": "end_session", "conversation_id": cid})
    ended = await sue.wait(card_of(cid, "wrap_up"), consume=False)
    assert ended["card"]["end_reason"] == "agent_ended"

    # the live figures follow, with the agents of its queues and their states
    live = await sue.wait(lambda f: f["type"] == "stats" and (stats_for(f, "support") or {}).get("answered") == 1)
    team = {a["id"]: a for a in live["agents"]}
    assert team["ann"]["state"] == "available" and team["ann"]["sessions"] == 1 and team["ann"]["capacity"] == 3
    assert team["ann"]["display_name"] == "Ann" and team["ann"]["queues"] == ["support"]

    # a chat in a queue it does not supervise: no card; a later one in its queue shows
    # that the feed went past it
    _, elsewhere = await sb.chat("sales")
    _, later = await sb.chat()  # offered to ann at once: queued and offered may come as one card
    await sue.wait(lambda f: f["type"] == "card" and f["conversation_id"] == later["conversation_id"], consume=False)
    assert not [f for f in sue.received("card") if f["conversation_id"] == elsewhere["conversation_id"]]

    # an ordinary agent gets neither stats nor cards of the feed
    await sue.wait(lambda f: f["type"] == "stats")
    await sue.wait(lambda f: f["type"] == "stats")
    assert ann.received("stats") == [] and ann.received("card") == []
    await customer.close()


async def test_a_transfer_between_queues_reaches_the_supervisors_of_both(make_deployment):
    sb = await make_deployment(stats_interval_s=0.2)
    await sb.queue("support")
    await sb.queue("sales")
    # otto supervises sales only: it sees the session when it arrives there
    otto, _ = await sb.agent_socket(await sb.agent("otto", role="supervisor", queues=["sales"]))
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor", queues=["support"]))
    await otto.wait(lambda f: f["type"] == "stats")
    ann = await sb.available_agent("ann")
    _, chat = await sb.chat()
    cid = chat["conversation_id"]
    await ann.ok({"type": "accept", "offer_id": (await offer_for(ann, cid))["offer_id"]})
    await sue.wait(card_of(cid, "active"), consume=False)
    await ann.ok({"type": "transfer", "conversation_id": cid, "queue": "sales"})
    moved = await otto.wait(card_of(cid, "waiting"), consume=False)
    assert moved["card"]["queue"]["id"] == "sales"
    # the old queue's supervisor sees it leave (session.transferred has from_queue)
    left = await sue.wait(card_of(cid, "waiting"), consume=False)
    assert left["card"]["queue"]["id"] == "sales"
    assert not [f for f in otto.received("card") if f["card"]["status"] == "active"]


async def test_a_closed_supervisor_socket_leaves_the_feed(make_deployment):
    sb = await make_deployment(stats_interval_s=0.1)
    await sb.queue("support")
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    await sue.wait(lambda f: f["type"] == "stats" and [q["id"] for q in f["queues"]] == ["support"])
    feed = sb.node.services.supervision
    assert feed.socket_count == 1
    await sue.close()
    await eventually(lambda: _empty(feed))


async def _empty(feed) -> bool:
    return feed.socket_count == 0


async def test_a_supervisor_who_joins_later_sees_every_open_session_and_open_help_requests(make_deployment):
    sb = await make_deployment(stats_interval_s=0.2)
    await sb.queue("support", offer_timeout_s=30)
    await sb.queue("sales")
    ann = await sb.available_agent("ann")  # capacity 3
    _, first = await sb.chat()
    cid = first["conversation_id"]
    await ann.ok({"type": "accept", "offer_id": (await offer_for(ann, cid))["offer_id"]})
    _, offered = await sb.chat()
    await offer_for(ann, offered["conversation_id"])  # offered, not answered
    await ann.ok({"type": "set_state", "state": "not_ready", "reason": "break"})
    _, waiting = await sb.chat()
    _, elsewhere = await sb.chat("sales")
    leaver, ended = await sb.chat()
    await leaver.ok({"type": "end_chat"})
    # ann asks for help while no support supervisor is online: otto (sales) is asked
    _otto, _ = await sb.agent_socket(await sb.agent("otto", role="supervisor", queues=["sales"]))
    await ann.ok({"type": "request_help", "conversation_id": cid, "text": "refund > 500 EUR"})

    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor", queues=["support"]))
    await sue.wait(lambda f: f["type"] == "stats")
    cards = {f["conversation_id"]: f["card"] for f in sue.received("card")}
    assert {cid: "active", offered["conversation_id"]: "offered", waiting["conversation_id"]: "waiting"}.items() <= {
        c: card["status"] for c, card in cards.items()
    }.items()
    assert elsewhere["conversation_id"] not in cards  # not its queue
    assert ended["conversation_id"] not in cards  # abandoned before it was answered: closed
    help_ = cards[cid]["help"]
    assert help_["agent"] == {"id": "ann", "display_name": "Ann"} and help_["text"] == "refund > 500 EUR"
    assert isinstance(help_["requested_at"], int)
    assert "help" not in cards[waiting["conversation_id"]]

    # monitoring the conversation answers the request: a later look has no help on the card
    await sue.ok({"type": "monitor", "conversation_id": cid})
    again, _ = await sb.agent_socket(await sb.agent("sam", role="supervisor", queues=["support"]))
    await again.wait(lambda f: f["type"] == "stats")
    later = {f["conversation_id"]: f["card"] for f in again.received("card")}
    assert later[cid]["status"] == "active" and "help" not in later[cid]
