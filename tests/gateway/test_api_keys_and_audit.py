"""API keys and the audit trail over real HTTP: keys shown once, scoped and revocable;
every change recorded with who, from where, before and after, and never a secret."""

from __future__ import annotations

import datetime
import json
from typing import Any

import httpx
from test_accounts import PASSWORD, Browser, create_user

from support import eventually


async def audit(sb: Any, **params: Any) -> Any:
    response = await sb.http.get("/api/v1/audit", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def keyed(sb: Any, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sb.node.base, timeout=10, headers={"Authorization": f"Bearer {key}"})


async def test_api_keys_are_shown_once_scoped_and_revocable(sb):
    created = await sb.admin("POST", "/api/v1/api-keys", {"name": "CRM sync", "scope": "admin"}, 201)
    assert created["key"].startswith("sbk_") and created["scope"] == "admin" and created["name"] == "CRM sync"
    reader = await sb.admin("POST", "/api/v1/api-keys", {"name": "BI", "scope": "read"}, 201)
    listed = await sb.admin("GET", "/api/v1/api-keys")
    assert [k["id"] for k in listed["api_keys"]] == [created["id"], reader["id"]]
    assert created["key"] not in json.dumps(listed) and all("key" not in k for k in listed["api_keys"])
    assert listed["api_keys"][0]["created_by"] == "admin-token"
    for bad in ({"name": "x", "scope": "owner"}, {"name": "", "scope": "read"}, {"scope": "read"}):
        await sb.admin("POST", "/api/v1/api-keys", bad, 400)
    async with keyed(sb, created["key"]) as admin, keyed(sb, reader["key"]) as read:
        # An admin key does what the admin token does.
        assert (await admin.put("/api/v1/queues/billing", json={"name": "Billing"})).status_code == 200
        assert (await admin.get("/api/v1/me")).json()["kind"] == "api_key"
        # A read key reads, and changes nothing.
        assert (await read.get("/api/v1/queues/billing")).status_code == 200
        assert (await read.get("/api/v1/audit")).status_code == 200
        refused = await read.put("/api/v1/queues/billing", json={"name": "Mine"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert (await read.post("/api/v1/api-keys", json={"name": "more", "scope": "admin"})).status_code == 403
        assert (await read.get("/api/v1/me")).json() | {"id": None} == {
            "kind": "api_key",
            "id": None,
            "name": "BI",
            "role": "read",
            "queues": [],
            "email": None,
            "agent_id": None,
            "scope": "read",
            "csrf_token": None,
        }
        used = {k["id"]: k for k in (await sb.admin("GET", "/api/v1/api-keys"))["api_keys"]}
        assert used[created["id"]]["last_used_at"] and used[reader["id"]]["last_used_at"]
        # Revoked: nobody any more; the admin token keeps working (the bootstrap key).
        await sb.admin("DELETE", f"/api/v1/api-keys/{created['id']}", expect=204)
        assert (await admin.get("/api/v1/queues")).status_code == 401
        await sb.admin("DELETE", f"/api/v1/api-keys/{created['id']}", expect=204)
        await sb.admin("DELETE", "/api/v1/api-keys/key_nothing", expect=404)
        assert (await sb.admin("GET", "/api/v1/api-keys"))["api_keys"][0]["revoked_at"]
        assert (await read.get("/api/v1/queues")).status_code == 200
    async with keyed(sb, created["key"] + "x") as forged, keyed(sb, "sbk_") as empty:
        assert (await forged.get("/api/v1/queues")).status_code == 401
        assert (await empty.get("/api/v1/queues")).status_code == 401


async def test_the_keys_of_a_disabled_user_stop_working(sb):
    admin = await create_user(sb, "ada@example.com", "admin", password=PASSWORD)
    async with Browser(sb) as browser:
        await browser.sign_in("ada@example.com")
        made = await browser.change("POST", "/api/v1/api-keys", {"name": "Ada's script", "scope": "admin"})
        assert made.status_code == 201 and made.json()["created_by"] == f"user:{admin['id']}"
    async with keyed(sb, made.json()["key"]) as script:
        assert (await script.get("/api/v1/queues")).status_code == 200
        await sb.admin("PATCH", f"/api/v1/users/{admin['id']}", {"disabled": True})
        assert (await script.get("/api/v1/queues")).status_code == 401
        await sb.admin("PATCH", f"/api/v1/users/{admin['id']}", {"disabled": False})
        assert (await script.get("/api/v1/queues")).status_code == 200
        await sb.admin("DELETE", f"/api/v1/users/{admin['id']}", expect=204)
        assert (await script.get("/api/v1/queues")).status_code == 401


async def test_every_change_is_in_the_audit_trail_without_secrets(make_deployment):
    started = datetime.datetime.now(datetime.UTC)
    sb = await make_deployment(webhook_allow_private=True)
    await sb.queue("support")
    await sb.queue("support", offer_timeout_s=30)  # again, changed
    user = await create_user(sb, "sue@example.com", "supervisor", queues=["support"], password=PASSWORD)
    key = await sb.admin("POST", "/api/v1/api-keys", {"name": "ops", "scope": "admin"}, 201)
    hook = await sb.admin("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "secret": "w" * 32}, 201)
    carol_token = await sb.agent("carol")
    async with keyed(sb, key["key"]) as ops:
        answer = await ops.put("/api/v1/canned-responses/hi", json={"title": "Hi", "text": "Hello"})
        assert answer.status_code == 201
        assert (await ops.patch(f"/api/v1/users/{user['id']}", json={"password": "another long password"})).is_success
        # Erasures and exports name who did them too (record/privacy.py writes those).
        _, welcome = await sb.customer()
        assert (await ops.delete(f"/api/v1/visitors/{welcome['visitor_id']}")).status_code == 204
        erased = (await audit(sb, action="visitor.erased"))["entries"]
        assert [(e["actor"], e["target"]) for e in erased] == [(f"key:{key['id']}", welcome["visitor_id"])]
    await sb.admin("DELETE", f"/api/v1/webhooks/{hook['id']}", expect=204)
    await sb.http.post("/api/v1/auth/login", json={"email": "sue@example.com", "password": "another long password"})

    trail = (await audit(sb))["entries"]
    text = json.dumps(trail)
    for secret in (key["key"], hook["secret"], carol_token, PASSWORD, "another long password", "$argon2"):
        assert secret not in text, secret
    by_action = {e["action"]: e for e in reversed(trail)}  # the latest of each
    assert [e["action"] for e in trail][:3] == ["auth.login", "webhooks.delete", "visitor.erased"]
    queue = by_action["queues.put"]
    assert queue["actor"] == "admin-token" and queue["target"] == "support" and queue["ip"] == "127.0.0.1"
    assert queue["before"]["offer_timeout_s"] == 20 and queue["after"]["offer_timeout_s"] == 30
    created = by_action["users.create"]
    assert created["target"] == user["id"] and created["before"] is None and created["after"]["role"] == "supervisor"
    assert by_action["api-keys.create"]["after"]["name"] == "ops" and "key" not in by_action["api-keys.create"]["after"]
    assert by_action["webhooks.create"]["after"].get("secret", "[secret]") == "[secret]"
    assert by_action["users.change"]["after"]["has_password"]
    assert by_action["agents.token.create"]["after"]["token"] == "[secret]"
    assert by_action["agents.put"]["target"] == "carol" and by_action["agents.put"]["after"]["display_name"] == "Carol"
    assert by_action["webhooks.delete"]["before"]["url"] == "http://127.0.0.1:9/hook"
    assert by_action["webhooks.delete"]["after"] is None
    assert by_action["canned-responses.put"]["actor"] == f"key:{key['id']}"
    assert by_action["users.change"]["actor"] == f"key:{key['id']}"
    assert by_action["auth.login"]["actor"] == f"user:{user['id']}"
    # Filters and pages.
    mine = (await audit(sb, actor=f"key:{key['id']}"))["entries"]
    assert [e["action"] for e in mine] == ["visitor.erased", "users.change", "canned-responses.put"]
    only = (await audit(sb, action="queues.put"))["entries"]
    assert {e["target"] for e in only} == {"support"} and len(only) == 2
    window = {"from": started.isoformat(), "to": (started + datetime.timedelta(hours=1)).isoformat()}
    assert len((await audit(sb, **window))["entries"]) == len(trail)
    future = {"from": (started + datetime.timedelta(hours=1)).isoformat()}
    assert (await audit(sb, **future))["entries"] == []
    paged, cursor = [], None
    while True:
        page = await audit(sb, limit=3, **({"cursor": cursor} if cursor else {}))
        paged += page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == trail
    for bad in ({"from": "yesterday"}, {"limit": 0}, {"limit": 501}, {"cursor": "x"}, {"actor": "a" * 201}):
        assert (await sb.http.get("/api/v1/audit", params=bad)).status_code == 400, bad


async def test_a_supervisors_monitoring_is_audited_behind_the_sockets_back(sb):
    await sb.available_agent("alice")
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    _, started = await sb.chat()
    cid = started["conversation_id"]
    await sue.ok({"type": "monitor", "conversation_id": cid})
    await sue.ok({"type": "unmonitor", "conversation_id": cid})

    async def monitoring() -> list[Any]:
        entries = (await audit(sb, actor="agent:sue"))["entries"]
        return entries if len(entries) == 2 else []

    entries = await eventually(monitoring)
    assert [(e["action"], e["target"], e["ip"]) for e in entries] == [
        ("conversation.unmonitor", cid, "127.0.0.1"),
        ("conversation.monitor", cid, "127.0.0.1"),
    ]
