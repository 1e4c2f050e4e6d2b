"""The system of record: what a chat leaves in PostgreSQL while it runs, and what leaves Redis after.

A real node on the session's Redis and PostgreSQL; the test reads PostgreSQL
with its own connection, as a report or a backup would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis_async

from support import Client, eventually
from switchboard.record.migrations import migrate, migrations


async def served_chat(sb: Any, text: str = "Where is my parcel?", **start: Any) -> dict[str, Any]:
    """alice serves one chat from start to wrap-up, with a note."""
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text=text, customer={"name": "Bob", "email": "bob@example.com"}, **start)
    cid = started["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    await agent.ok({"type": "message", "conversation_id": cid, "text": "Checking now"})
    await agent.ok({"type": "note", "conversation_id": cid, "text": "customer sounds upset"})
    await customer.ok({"type": "message", "text": "Thank you"})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved", "notes": "tracking sent"})
    await agent.expect("conversation.closed", conversation_id=cid)
    return {"conversation_id": cid, "session_id": started["session_id"], "agent": agent, "customer": customer}


@pytest.fixture
async def pg(database_url: str) -> Any:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def rows(pg: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await pg.fetch(sql, *args)]


async def test_a_chat_is_in_postgresql_while_it_runs_messages_in_order_with_their_seq(sb, pg):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Hello")
    cid = started["conversation_id"]
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    sent = await customer.ok({"type": "message", "text": "Still there?"})

    async def recorded() -> list[dict[str, Any]] | None:
        found = await rows(pg, "SELECT seq, kind, sender_role, body FROM messages WHERE conversation_id = $1", cid)
        return found if any(r["seq"] == sent["seq"] for r in found) else None

    # the chat is still open: the copy does not wait for the end
    found = await eventually(recorded)
    texts = [r["body"] for r in sorted(found, key=lambda r: r["seq"]) if r["kind"] == "message" and r["body"]]
    assert texts == ["Hello", "Still there?"]
    conversation = await pg.fetchrow(
        "SELECT is_open, visitor_id, channel FROM conversations WHERE conversation_id = $1", cid
    )
    assert conversation["is_open"] is True and conversation["channel"] == "webchat"


async def test_a_finished_chat_has_its_session_notes_wrap_up_visitor_and_events_in_postgresql(sb, pg):
    done = await served_chat(sb)
    cid, sid = done["conversation_id"], done["session_id"]

    async def wrapped() -> dict[str, Any] | None:
        row = await pg.fetchrow("SELECT * FROM sessions WHERE session_id = $1", sid)
        return dict(row) if row and row["wrap_up_code"] == "resolved" else None

    session = await eventually(wrapped)
    assert session["queue"] == "support" and session["status"] == "closed"
    assert session["agents"] == ["alice"] and session["end_reason"] == "agent_ended"
    assert session["wrap_up_notes"] == "tracking sent"
    assert session["customer_name"] == "Bob" and session["customer_email"] == "bob@example.com"
    assert session["queued_at"] <= session["connected_at"] <= session["ended_at"] <= session["wrapped_at"]

    messages = await rows(
        pg, "SELECT seq, kind, audience, sender_role, body FROM messages WHERE conversation_id = $1 ORDER BY seq", cid
    )
    said = [
        (m["kind"], m["sender_role"], m["body"])
        for m in messages
        if m["kind"] in ("message", "note") and m["sender_role"] != "system"
    ]
    assert said == [
        ("message", "customer", "Where is my parcel?"),
        ("message", "agent", "Checking now"),
        ("note", "agent", "customer sounds upset"),
        ("message", "customer", "Thank you"),
    ]
    assert [m["audience"] for m in messages if m["kind"] == "note"] == ["agents"]
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(1, len(seqs) + 1)), "every seq once, none missing"
    assert "chat.ended" in [m["kind"] for m in messages]

    conversation = await pg.fetchrow("SELECT * FROM conversations WHERE conversation_id = $1", cid)
    assert conversation["is_open"] is False and conversation["ended_at"] is not None
    assert conversation["last_seq"] == seqs[-1]
    assert await pg.fetchval("SELECT count(*) FROM visitors WHERE visitor_id = $1", conversation["visitor_id"]) == 1

    async def events() -> list[str] | None:
        found = [
            r["type"]
            for r in await rows(pg, "SELECT type FROM events WHERE conversation_id = $1 ORDER BY id_ms, id_n", cid)
        ]
        return found if "session.wrapped_up" in found else None

    found = await eventually(events)
    lifecycle = [t for t in found if t in ("session.connected", "session.ended", "session.wrapped_up")]
    assert lifecycle == ["session.connected", "session.ended", "session.wrapped_up"], found


async def test_copying_again_doubles_nothing(sb, pg, redis_url):
    done = await served_chat(sb)
    cid = done["conversation_id"]
    archiver = sb.node.services.archiver
    client = redis_async.Redis.from_url(redis_url)
    keys = sb.node.services.router.keys
    last = int(await client.hget(keys.conversation(cid), "seq"))

    async def complete() -> bool:
        return await pg.fetchval("SELECT last_seq FROM conversations WHERE conversation_id = $1", cid) == last

    async def events_copied() -> bool:
        newest = await client.xrevrange(keys.events, count=1)
        return bool(newest) and await client.get(keys.archive_events_cursor) == newest[0][0]

    # the events too: a step copies them apart from the conversation, and may not have yet
    await eventually(complete)
    await eventually(events_copied)
    before = await pg.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", cid)
    assert before == last
    events_before = await pg.fetchval("SELECT count(*) FROM events")
    # as if the confirmations had been lost (a node killed after writing, before confirming)
    await client.hset(keys.conversation(cid), "archived_seq", 0)
    await client.delete(keys.archive_events_cursor)
    await client.zadd(keys.archive_dirty, {cid: 1})
    await client.aclose()
    await archiver.step()
    await archiver.step()
    assert await pg.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", cid) == before
    assert await pg.fetchval("SELECT count(*) FROM events") == events_before


async def test_a_finished_conversation_leaves_redis_after_the_live_window_and_reads_the_same(
    make_deployment, pg, redis_url
):
    sb = await make_deployment(live_retention_s=0.3)
    await sb.queue("support")
    done = await served_chat(sb)
    cid = done["conversation_id"]
    detail_live = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    client = redis_async.Redis.from_url(redis_url)
    prefix = sb.node.services.router.keys.prefix

    async def gone() -> bool:
        return not [k async for k in client.scan_iter(match=f"*{cid}*")]

    await eventually(gone)
    # what stays: only the entries of the agent's and visitor's lists of conversations
    assert not await client.exists(f"{prefix}:c:{{{cid}}}:log")
    await client.aclose()
    detail_archived = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail_archived["messages"] == detail_live["messages"]
    assert detail_archived["notes"] == detail_live["notes"]
    assert detail_archived["events"] == detail_live["events"]
    live, archived = detail_live["card"], detail_archived["card"]
    assert {k: v for k, v in archived.items() if k != "age_ms"} == {k: v for k, v in live.items() if k != "age_ms"}


async def test_readyz_reports_postgresql_apart_from_redis(sb):
    ready = await sb.admin("GET", "/readyz")
    assert ready == {"status": "ready", "redis": "ok", "postgres": "ok"}


async def test_ten_nodes_starting_together_apply_each_migration_once(database_url):
    connection = await asyncpg.connect(database_url)
    await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await connection.close()
    connections = [await asyncpg.connect(database_url) for _ in range(10)]
    try:
        applied = await asyncio.gather(*(migrate(c) for c in connections))
    finally:
        for c in connections:
            await c.close()
    versions = [m.version for m in migrations()]
    assert sorted(v for one in applied for v in one) == versions, "each migration applied by exactly one node"
    check = await asyncpg.connect(database_url)
    assert [r["version"] for r in await check.fetch("SELECT version FROM schema_migrations ORDER BY 1")] == versions
    await check.close()


# ---------------------------------------------------------------- erasure, export, redaction


async def everything_about(pg: asyncpg.Connection, redis_url: str, needles: list[str]) -> list[str]:
    """Where any of `needles` still appears: Redis keys and values, PostgreSQL rows."""
    found = []
    client = redis_async.Redis.from_url(redis_url)
    try:
        async for key in client.scan_iter(count=1000):
            kind = (await client.type(key)).decode()
            if kind == "string":
                values = [await client.get(key)]
            elif kind == "hash":
                values = [*(await client.hgetall(key)).keys(), *(await client.hgetall(key)).values()]
            elif kind == "list":
                values = await client.lrange(key, 0, -1)
            elif kind == "set":
                values = list(await client.smembers(key))
            elif kind == "zset":
                values = [m for m, _ in await client.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                values = [str(fields).encode() for _, fields in await client.xrange(key)]
            else:
                values = []
            for needle in needles:
                if needle.encode() in key or any(needle.encode() in (v or b"") for v in values):
                    found.append(f"redis {key.decode()}")
    finally:
        await client.aclose()
    for table in ("visitors", "web_sessions", "page_views", "conversations", "sessions", "messages", "events"):
        for needle in needles:
            if await pg.fetchval(f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'", needle):
                found.append(f"postgres {table}")
    return found


async def test_erasing_a_visitor_ends_its_chat_closes_its_sockets_and_leaves_no_trace(sb, pg, redis_url):
    old = await served_chat(sb, text="My name is Bob Marley, bob@example.com")
    customer = old["customer"]
    await customer.ok({"type": "page_view", "url": "https://shop.example/secret-page"})
    agent = old["agent"]
    # a second chat, still open, that an agent serves
    await customer.ok({"type": "message", "text": "one more thing, call +49 170 5550199"})
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    vid = customer.frames[0]["visitor_id"]
    cid = old["conversation_id"]
    await eventually(lambda: _archived(pg, cid))

    response = await sb.http.delete(f"/api/v1/visitors/{vid}")
    assert response.status_code == 204, response.text
    assert await customer.closed() == (4401, "visitor erased")
    ended = await agent.expect("conversation.closed", conversation_id=cid)
    assert ended["wrap_up"]["label"] == "Erased"

    # give a copy already on its way the time to arrive: it must not bring anything back
    await sb.node.services.archiver.step()
    keys = sb.node.services.router.keys
    left = await everything_about(pg, redis_url, ["Marley", "bob@example.com", "5550199", "secret-page", vid, cid])
    # the id only: in the set of erased ids, and in the timer of its closed socket's grace (which then does nothing)
    assert set(left) <= {f"redis {keys.erased_visitors}", f"redis {keys.deadlines}"}, left
    assert await everything_about(pg, redis_url, ["Marley", "bob@example.com", "5550199", "secret-page", cid]) == []
    assert (await sb.http.delete(f"/api/v1/visitors/{vid}")).status_code == 204  # again: still 204
    # its token never says hello again
    again = await Client.connect(sb.node.customer_url)
    await again.send({"type": "hello", "visitor_token": customer.frames[0]["visitor_token"]})
    assert await again.closed() == (4401, "this visitor was erased")
    # (the configuration changes above are in the trail too)
    audit = await rows(pg, "SELECT actor, action, target, detail FROM audit_log WHERE action LIKE 'visitor.%'")
    assert [(a["actor"], a["action"], a["target"]) for a in audit] == [("admin", "visitor.erased", vid)] * 2


async def _archived(pg: asyncpg.Connection, cid: str) -> bool:
    return bool(await pg.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", cid))


async def test_export_holds_the_visitors_conversations_messages_notes_and_journey(sb, pg):
    done = await served_chat(sb)
    customer = done["customer"]
    await customer.ok({"type": "page_view", "url": "https://shop.example/cart", "title": "Cart"})
    vid = customer.frames[0]["visitor_id"]
    response = await sb.http.get(f"/api/v1/visitors/{vid}/export")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    exported = response.json()
    (conversation,) = exported["conversations"]
    assert conversation["conversation_id"] == done["conversation_id"]
    assert [m["text"] for m in conversation["messages"] if m["from"]["role"] != "system"] == [
        "Where is my parcel?",
        "Checking now",
        "Thank you",
    ]
    assert [n["text"] for n in conversation["notes"]] == ["customer sounds upset"]

    async def journey() -> dict[str, Any] | None:
        archived = (await sb.http.get(f"/api/v1/visitors/{vid}/export")).json()
        return archived if archived["page_views"] else None

    archived = await eventually(journey)
    assert [p["url"] for p in archived["page_views"]] == ["https://shop.example/cart"]
    assert archived["conversations"][0]["sessions"][0]["wrap_up"]["code"] == "resolved"
    assert (await sb.http.get("/api/v1/visitors/v_nobody/export")).status_code == 404
    assert "visitor.exported" in [r["action"] for r in await rows(pg, "SELECT action FROM audit_log")]


async def test_a_redacted_message_is_gone_everywhere_but_that_it_was_redacted(sb, pg):
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Hello")
    cid = started["conversation_id"]
    offer = await agent.expect("offer")
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    seq = (await customer.ok({"type": "message", "text": "my card number is 4111 1111 1111 1111"}))["seq"]

    async def archived() -> bool:
        return bool(await pg.fetchval("SELECT 1 FROM messages WHERE conversation_id = $1 AND seq = $2", cid, seq))

    await eventually(archived)

    response = await sb.http.delete(f"/api/v1/conversations/{cid}/messages/{seq}")
    assert response.status_code == 204, response.text
    for client in (customer, agent):
        event = await client.expect("message.redacted", conversation_id=cid)
        assert event["seq"] == seq and event["redacted"]["by"] == "admin"
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    (redacted,) = [m for m in detail["messages"] if m["seq"] == seq]
    assert "text" not in redacted and redacted["redacted"]["by"] == "admin"
    row = await pg.fetchrow(
        "SELECT body, frame, redacted_by FROM messages WHERE conversation_id = $1 AND seq = $2", cid, seq
    )
    assert row["body"] is None and "4111" not in str(row["frame"]) and row["redacted_by"] == "admin"
    assert (await sb.http.get("/api/v1/conversations", params={"q": "4111"})).json()["conversations"] == []
    assert (await sb.http.delete(f"/api/v1/conversations/{cid}/messages/999")).status_code == 404
    audit = await rows(pg, "SELECT action, target, detail::text FROM audit_log WHERE action LIKE 'message.%'")
    assert [(a["action"], a["target"], json.loads(a["detail"])) for a in audit] == [
        ("message.redacted", f"{cid}:{seq}", {"conversation_id": cid, "seq": seq})
    ]


# ---------------------------------------------------------------- retention


async def test_retention_deletes_every_trace_of_ended_conversations_a_queue_may_keep_longer(
    make_deployment, pg, redis_url
):
    second = 1 / 86400
    sb = await make_deployment(retention_days=second, retention_sweep_s=0.1, live_retention_s=3600)
    await sb.queue("support")
    await sb.queue("legal", retention_days=3650)
    gone = await served_chat(sb, text="delete me in a second")
    kept_customer, kept = await sb.chat(queue="legal", text="keep me for ten years")
    await kept_customer.ok({"type": "end_chat"})
    cid, kept_cid = gone["conversation_id"], kept["conversation_id"]

    client = redis_async.Redis.from_url(redis_url)

    async def deleted() -> bool:
        # from Redis too, live window or not
        in_redis = [k async for k in client.scan_iter(match=f"*{cid}*")]
        return not in_redis and not await pg.fetchval(
            "SELECT count(*) FROM conversations WHERE conversation_id = $1", cid
        )

    await eventually(deleted, timeout=10)
    await client.aclose()
    assert await everything_about(pg, redis_url, ["delete me in a second", cid]) == []
    vid = gone["customer"].frames[0]["visitor_id"]
    assert not await pg.fetchval("SELECT count(*) FROM visitors WHERE visitor_id = $1", vid)
    # the other queue keeps its own
    assert await pg.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", kept_cid)
    detail = await sb.admin("GET", f"/api/v1/conversations/{kept_cid}")
    assert detail["messages"][0]["text"] == "keep me for ten years"
    assert (await sb.http.get(f"/api/v1/conversations/{cid}")).status_code == 404
    assert "conversations.deleted" in [r["action"] for r in await rows(pg, "SELECT action FROM audit_log")]


# ---------------------------------------------------------------- upgrade in place


async def test_a_redis_only_deployment_keeps_its_conversations_when_it_gets_a_database(
    make_deployment, database_url, pg, redis_url
):
    # what a version without the system of record left: the chats in Redis, no marks, a word index
    old = await make_deployment(archive_interval_s=3600)
    await old.queue("support")
    done = await served_chat(old, text="from the days before PostgreSQL")
    cid = done["conversation_id"]
    keys = old.node.services.router.keys
    await old.node.stop()
    client = redis_async.Redis.from_url(redis_url)
    await client.delete(keys.archive_dirty, keys.archive_finished, keys.archive_visitors, keys.data_version)
    await client.sadd("{sb:search}:w:parcel", cid)
    await client.zadd("{sb:search}:activity", {cid: 1})
    await pg.execute("TRUNCATE conversations, visitors, events CASCADE")

    new = await make_deployment(live_retention_s=0.2)

    async def archived_and_trimmed() -> bool:
        in_redis = [k async for k in client.scan_iter(match=f"*{cid}*")]
        return not in_redis and bool(await pg.fetchval("SELECT count(*) FROM messages WHERE conversation_id = $1", cid))

    await eventually(archived_and_trimmed)
    assert [k async for k in client.scan_iter(match="{sb:search}:*")] == []
    await client.aclose()
    detail = await new.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["messages"][0]["text"] == "from the days before PostgreSQL"
    assert detail["card"]["status"] == "closed"


async def test_a_messaging_customer_returns_to_its_thread_after_it_left_redis(make_deployment, pg, redis_url):
    sb = await make_deployment(live_retention_s=0.2)
    await sb.queue("support")
    agent = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Is my order shipped?", channel="messaging")
    cid = started["conversation_id"]
    token = customer.frames[0]["visitor_token"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.ok({"type": "message", "conversation_id": cid, "text": "Yes, yesterday"})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await customer.close()
    client = redis_async.Redis.from_url(redis_url)

    async def left_redis() -> bool:
        return not await client.exists(f"sb:c:{{{cid}}}:log")

    await eventually(left_redis)
    await client.aclose()

    back, welcome = await sb.customer(visitor_token=token)
    assert welcome["conversation"]["conversation_id"] == cid and welcome["conversation"]["channel"] == "messaging"
    await back.ok({"type": "message", "text": "Where is it now?"})
    second = await agent.expect("offer", conversation_id=cid)
    assert [m["text"] for m in second["thread"] if m.get("from", {}).get("role") != "system"][:2] == [
        "Is my order shipped?",
        "Yes, yesterday",
    ]
    await agent.ok({"type": "accept", "offer_id": second["offer_id"]})
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert len(detail["sessions"]) == 2
    texts = [m["text"] for m in detail["messages"] if m["from"]["role"] != "system"]
    assert texts == ["Is my order shipped?", "Yes, yesterday", "Where is it now?"]


async def test_redis_keeps_nothing_of_finished_chats_and_idle_visitors_after_the_live_window(
    make_deployment, pg, redis_url
):
    sb = await make_deployment(live_retention_s=0.3, disconnect_grace_s=0.1)
    await sb.queue("support")
    client = redis_async.Redis.from_url(redis_url)
    await sb.available_agent("alice", capacity=5)
    before = {k async for k in client.scan_iter(count=1000)}
    ids = []
    for i in range(5):
        customer, started = await sb.chat(text=f"chat number {i}")
        await customer.ok({"type": "page_view", "url": f"https://shop.example/{i}"})
        await customer.ok({"type": "end_chat"})
        ids += [started["conversation_id"], customer.frames[0]["visitor_id"]]
        await customer.close()

    async def nothing_left() -> list[bytes]:
        left = [k async for k in client.scan_iter(count=1000) if any(i.encode() in k for i in ids)]
        return [] if left else [b"done"]

    await eventually(nothing_left, timeout=10)
    # the events of those chats leave Redis' stream too (the archiver trims it in its own
    # pass, once PostgreSQL holds them), and are read from PostgreSQL
    events_key = sb.node.services.router.keys.events

    async def events_trimmed() -> bool:
        return await client.xlen(events_key) <= 2

    await eventually(events_trimmed, timeout=10)
    # what stays is bookkeeping of a fixed size (id counters, the archive's cursor)
    added = {k async for k in client.scan_iter(count=1000)} - before
    assert len(added) <= 3, added
    await client.aclose()
    events = (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]
    started = [e["conversation_id"] for e in events if e["type"] == "session.queued"]
    assert started == ids[::2]
    positions = [tuple(int(p) for p in e["id"].split("-")) for e in events]
    assert positions == sorted(set(positions)), "in order, each once"
    page = await sb.admin("GET", "/api/v1/events?limit=3")
    rest = await sb.admin("GET", f"/api/v1/events?limit=1000&after={page['next']}")
    assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in events]


async def test_the_figures_of_a_window_reaching_before_redis_stream_come_from_postgresql(make_deployment, redis_url):
    sb = await make_deployment(live_retention_s=0.2)
    await sb.queue("support")
    for _ in range(2):
        customer, _started = await sb.chat(text="hello")
        await customer.ok({"type": "end_chat"})
    client = redis_async.Redis.from_url(redis_url)

    async def stream_empty() -> bool:
        return await client.xlen(sb.node.services.router.keys.events) == 0

    await eventually(stream_empty)
    await client.aclose()
    answer = await sb.admin("GET", "/api/v1/stats")
    (support,) = answer["queues"]
    assert (support["offered"], support["abandoned"]) == (2, 2)
    assert answer["truncated"] is False
