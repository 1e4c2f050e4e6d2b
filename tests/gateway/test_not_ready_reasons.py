"""Not-ready reasons: configured per deployment, required by `set_state not_ready`, on the supervisor's board."""

from __future__ import annotations

from typing import Any

REASONS = ["Break", "Lunch", "Training"]


def reason_of(aid: str, reason: str) -> Any:
    """A `stats` frame whose board shows `aid` not ready for `reason`."""

    def matches(frame: dict[str, Any]) -> bool:
        agents = frame["agents"] if frame["type"] == "stats" else []
        return any(a["id"] == aid and a["state"] == "not_ready" and a.get("reason") == reason for a in agents)

    return matches


async def test_the_admin_sets_the_reasons_and_agents_read_them(sb):
    await sb.queue("support")
    ann = await sb.agent("ann")
    as_ann = {"Authorization": f"Bearer {ann}"}
    assert (await sb.admin("GET", "/api/v1/not-ready-reasons")) == {"reasons": []}
    assert (await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})) == {"reasons": REASONS}
    read = await sb.http.get("/api/v1/not-ready-reasons", headers=as_ann)
    assert read.status_code == 200 and read.json() == {"reasons": REASONS}
    changed = await sb.http.put("/api/v1/not-ready-reasons", json={"reasons": []}, headers=as_ann)
    assert changed.status_code == 403
    assert (await sb.http.get("/api/v1/not-ready-reasons", headers={"Authorization": "Bearer nope"})).status_code == 401
    for bad in ({"reasons": ["Lunch", "Lunch"]}, {"reasons": [""]}, {"reasons": ["x" * 65]}, {"reasons": "Lunch"}, {}):
        answer = await sb.http.put("/api/v1/not-ready-reasons", json=bad)
        assert answer.status_code == 400, bad
    assert (await sb.admin("GET", "/api/v1/not-ready-reasons")) == {"reasons": REASONS}


async def test_not_ready_needs_one_of_the_reasons_once_any_are_configured(sb):
    await sb.queue("support")
    agent = await sb.available_agent("alice")
    # none configured: any reason, or none, as before
    await agent.ok({"type": "set_state", "state": "not_ready", "reason": "Dentist"})
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})
    for frame in ({"state": "not_ready"}, {"state": "not_ready", "reason": "Dentist"}):
        refused = await agent.request({"type": "set_state", **frame})
        assert refused["code"] == "bad_request"
        assert refused["message"] == "reason must be one of the not-ready reasons: Break, Lunch, Training"
    ack = await agent.ok({"type": "set_state", "state": "not_ready", "reason": "Lunch"})
    assert (ack["state"], ack["reason"]) == ("not_ready", "Lunch")
    await agent.ok({"type": "set_state", "state": "available"})  # other states take no reason
    events = (await sb.admin("GET", "/api/v1/events"))["events"]
    changes = [(e["state"], e["reason"]) for e in events if e["type"] == "agent.state_changed"]
    assert changes[-2:] == [("not_ready", "Lunch"), ("available", "")]


async def test_the_supervisors_board_shows_each_agents_reason_and_since_when(make_deployment):
    sb = await make_deployment(stats_interval_s=0.2)
    await sb.queue("support")
    await sb.admin("PUT", "/api/v1/not-ready-reasons", {"reasons": REASONS})
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    ann = await sb.available_agent("ann")
    bob = await sb.available_agent("bob")
    since = (await ann.ok({"type": "set_state", "state": "not_ready", "reason": "Training"}))["since"]
    await bob.ok({"type": "set_state", "state": "not_ready", "reason": "Lunch"})
    board = await sue.wait(lambda f: reason_of("ann", "Training")(f) and reason_of("bob", "Lunch")(f))
    row = next(a for a in board["agents"] if a["id"] == "ann")
    assert row["since"] == since
    support = next(q for q in board["queues"] if q["id"] == "support")
    assert support["not_ready_reasons"] == {"Lunch": 1, "Training": 1, "": 1}  # sue has none
    stats = await sb.admin("GET", "/api/v1/stats")
    assert stats["queues"][0]["not_ready_reasons"]["Training"] == 1
