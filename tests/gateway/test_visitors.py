"""Visitors: web sessions, the visitor views, and proactive invitations.

Over real sockets against a real node and Redis, plus the pure URL patterns and
the web session boundary under a controlled clock.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from support import eventually, queue_and_agent
from switchboard.domain import invites
from switchboard.domain.config import QueueConfig
from switchboard.domain.errors import SwitchboardError

SHOP = "https://shop.example"
CHECKOUT = f"{SHOP}/checkout*"
T0 = 1_800_000_000_000


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


def as_agent(sb: Any, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


async def events_of(sb: Any, *types: str) -> list[dict[str, Any]]:
    events = (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]
    return [e for e in events if e["type"] in types]


async def rule(sb: Any, rid: str = "checkout", expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"queue": "support", "url_pattern": CHECKOUT, "seconds_on_page": 0.3, "text": "Need help paying?", **fields}
    return await sb.admin("PUT", f"/api/v1/invite-rules/{rid}", body, expect=expect)


async def visitor(sb: Any, vid: str) -> dict[str, Any]:
    return await sb.admin("GET", f"/api/v1/visitors/{vid}")


async def timer(sb: Any, vid: str, rid: str) -> float | None:
    services = sb.node.services
    return await services.redis.zscore(services.router.keys.deadlines, f"invite:{vid}:{rid}")


async def timer_fired(sb: Any, vid: str, rid: str) -> None:
    """The rule's deadline was armed and has been run (its expiry step took it)."""
    assert await timer(sb, vid, rid) is not None
    await eventually(lambda: _gone(sb, vid, rid))


async def _gone(sb: Any, vid: str, rid: str) -> bool:
    return await timer(sb, vid, rid) is None


async def online_ids(sb: Any) -> list[str]:
    return [v["visitor_id"] for v in (await sb.admin("GET", "/api/v1/visitors?online=true"))["visitors"]]


# ---------------------------------------------------------------- URL patterns (pure)


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        (CHECKOUT, f"{SHOP}/checkout", True),
        (CHECKOUT, f"{SHOP}/checkout/payment?step=2", True),
        (CHECKOUT, f"{SHOP}/cart", False),
        (CHECKOUT, "http://shop.example/checkout", False),
        (f"{SHOP}/cart", f"{SHOP}/cart", True),
        (f"{SHOP}/cart", f"{SHOP}/cart/", False),
        ("*", "", True),
        ("*/help*", f"{SHOP}/en/help/faq", True),
        ("*.pdf", f"{SHOP}/terms.pdf", True),
        ("*.pdf", f"{SHOP}/terms.pdf?x", False),
        ("a*a", "a", False),  # the pieces may not overlap
        ("a*a", "aa", True),
        ("*?q=*", f"{SHOP}/search?q=shoes", True),  # ? is a plain character
        ("*?q=*", f"{SHOP}/searchXq=shoes", False),
        ("*[1]*", f"{SHOP}/p[1]", True),
        (f"{SHOP}/Cart", f"{SHOP}/cart", False),  # case counts
        ("*a*b*c*", "xxaxxbxxcxx", True),
        ("*a*b*c*", "xxaxxcxxbxx", False),
    ],
)
def test_url_patterns_are_globs_over_the_whole_url(pattern, url, matches):
    assert invites.UrlPattern.compile(pattern).matches(url) is matches


def test_a_pathological_pattern_matches_in_linear_time():
    pattern = invites.UrlPattern.compile("*a" * 249 + "*b")
    assert pattern.matches("a" * 2048) is False  # would take ages with backtracking


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url_pattern": ""}, "bad_request"),
        ({"url_pattern": "   "}, "bad_request"),
        ({"url_pattern": "x" * 501}, "too_long"),
        ({"text": ""}, "bad_request"),
        ({"text": "x" * 501}, "too_long"),
        ({"seconds_on_page": -1}, "bad_request"),
        ({"seconds_on_page": 86401}, "bad_request"),
        ({"queue": "no spaces"}, "bad_request"),
        ({"colour": "red"}, "bad_request"),
        ({"enabled": "yes"}, "bad_request"),
    ],
)
def test_bad_rule_bodies_are_refused(body, code):
    good = {"queue": "support", "url_pattern": CHECKOUT, "seconds_on_page": 0, "text": "Hi"}
    with pytest.raises(SwitchboardError) as refused:
        invites.decode_rule(msgspec.json.encode({**good, **body}))
    assert refused.value.code == code


def test_rule_defaults():
    body = invites.decode_rule(
        msgspec.json.encode({"queue": "support", "url_pattern": "x" * 500, "seconds_on_page": 0, "text": "y" * 500})
    )
    assert body.enabled is True and body.only_when_agents_available is True


# ---------------------------------------------------------------- web sessions under a controlled clock


async def test_a_web_session_ends_after_the_idle_time_and_a_card_keeps_the_pages_of_its_own(router):
    await router.put_queue("q", msgspec.json.encode(QueueConfig(name="Q")))
    await router.connect("v", "v1", "n:1", now=T0)

    async def view(url: str, at: int) -> dict[str, Any]:
        return await router.page_view("v1", url, "", 1000, now=at)

    first = await view("/a", T0)
    assert first["started"] is True
    assert (await view("/b", T0 + 999))["web_session_id"] == first["web_session_id"]
    await router.start_chat(
        visitor_id="v1",
        conversation_id="c1",
        session_id="s1",
        queue="q",
        language="en",
        channel="webchat",
        now=T0 + 1500,
    )
    assert (await view("/c", T0 + 1998))["web_session_id"] == first["web_session_id"]  # 999 ms idle
    second = await view("/d", T0 + 2998)  # 1000 ms without a page view: a new one
    assert second["started"] is True and second["web_session_id"] != first["web_session_id"]
    await view("/e", T0 + 3000)

    (card,) = await router.session_cards(["s1"], now=T0 + 4000)
    assert [p["url"] for p in card["journey"]] == ["/a", "/b", "/c"]
    await router.start_chat(
        visitor_id="v2", conversation_id="c2", session_id="s2", queue="q", language="en", channel="webchat", now=T0
    )  # no page views ever
    (card,) = await router.session_cards(["s2"], now=T0 + 4000)
    assert card["journey"] == []

    detail = await router.visitor("v1", now=T0 + 4000)
    web = detail["web_session"]
    assert (web["id"], web["started_at"], web["last_seen_at"], web["pages"]) == (
        second["web_session_id"],
        T0 + 2998,
        T0 + 3000,
        2,
    )
    assert (web["first_url"], web["last_url"]) == ("/d", "/e")
    assert [p["url"] for p in web["journey"]] == ["/d", "/e"]
    assert detail["page"] == {"url": "/e", "since": T0 + 3000}


async def test_an_invitation_can_be_answered_for_ten_minutes(router):
    await router.put_queue("q", msgspec.json.encode(QueueConfig(name="Q")))
    await router.connect("v", "v1", "n:1", now=T0)
    late = await router.invite("v1", "q", "Hello?", now=T0)
    timely = await router.invite("v1", "q", "Hello again?", now=T0 + 1)
    with pytest.raises(SwitchboardError) as refused:
        await router.start_chat(
            visitor_id="v1",
            conversation_id="c1",
            session_id="s1",
            language="en",
            channel="webchat",
            invite_id=late["invite_id"],
            now=T0 + 600_001,
        )
    assert refused.value.code == "not_found"
    started = await router.start_chat(
        visitor_id="v1",
        conversation_id="c1",
        session_id="s1",
        language="en",
        channel="webchat",
        invite_id=timely["invite_id"],
        now=T0 + 600_001,
    )
    assert started["conversation_id"] == "c1"
    assert await router.redis.hget(router.keys.session("s1"), "queue") == b"q"


async def test_only_when_agents_available_needs_an_agent_ready_with_a_free_slot(router):
    """`only_when_agents_available` counts the queue's ready agents (available,
    connected, with a free slot)."""
    await queue_and_agent(router, QueueConfig(name="Q"), T0, capacity=1)
    await router.set_state("a", "available", now=T0)
    await router.redis.hset(
        router.keys.invite_rules,
        "r",
        msgspec.json.encode(
            {
                "queue": "q",
                "url_pattern": "*",
                "seconds_on_page": 1,
                "text": "Hi",
                "enabled": True,
                "only_when_agents_available": True,
                "updated_at": T0,
            }
        ),
    )
    for vid in ("v1", "v2", "v3"):
        await router.connect("v", vid, f"n:{vid}", now=T0)
        await router.page_view(vid, "/", "", 60_000, matches=(("r", 1),), now=T0)
    assert await router.expire("invite:v1:r", now=T0 + 1000) is True
    # the agent's one slot is taken by a chat: nobody is ready for v2
    await router.start_chat(
        visitor_id="v3",
        conversation_id="c3",
        session_id="s3",
        queue="q",
        language="en",
        channel="webchat",
        now=T0 + 1000,
    )
    assert await router.expire("invite:v2:r", now=T0 + 1000) is False


# ---------------------------------------------------------------- web sessions and visitors over sockets


async def test_page_views_form_the_web_session_shown_on_the_card(sb):
    alice = await sb.available_agent("alice")
    customer, welcome = await sb.customer(page={"url": f"{SHOP}/", "title": "Shop"})
    vid = welcome["visitor_id"]
    await customer.ok({"type": "page_view", "url": f"{SHOP}/shoes", "title": "Shoes"})
    await customer.ok({"type": "page_view", "url": f"{SHOP}/cart"})
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    offer = await alice.expect("offer")
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await alice.expect("conversation.assigned")
    journey = assigned["card"]["journey"]
    assert [(p["url"], p.get("title")) for p in journey] == [
        (f"{SHOP}/", "Shop"),
        (f"{SHOP}/shoes", "Shoes"),
        (f"{SHOP}/cart", None),
    ]
    assert all(isinstance(p["ts"], int) for p in journey)

    detail = await visitor(sb, vid)
    web = detail["web_session"]
    assert web["pages"] == 3 and web["first_url"] == f"{SHOP}/" and web["last_url"] == f"{SHOP}/cart"
    assert web["journey"] == journey and web["started_at"] == journey[0]["ts"]
    assert detail["online"] is True and detail["page"]["url"] == f"{SHOP}/cart"
    assert detail["conversation_id"] == started["conversation_id"]
    assert [c["conversation_id"] for c in detail["conversations"]] == [started["conversation_id"]]
    assert detail["conversations"][0]["status"] == "active"


async def test_a_new_web_session_starts_after_the_idle_time(make_deployment):
    sb = await make_deployment(web_session_idle_s=0.3)
    await sb.queue("support")
    await sb.available_agent("alice")
    await rule(sb, url_pattern=f"{SHOP}/help", seconds_on_page=0.3)
    customer, welcome = await sb.customer(page={"url": f"{SHOP}/", "title": "Shop"})
    vid = welcome["visitor_id"]
    await customer.ok({"type": "page_view", "url": f"{SHOP}/help"})
    first = (await visitor(sb, vid))["web_session"]
    # The invitation comes after 0.3 s on the page: at least the idle time without a page view.
    invite = await customer.expect("invite", timeout=5)
    await customer.ok({"type": "dismiss_invite", "invite_id": invite["invite_id"]})
    await customer.ok({"type": "page_view", "url": f"{SHOP}/help"})
    second = (await visitor(sb, vid))["web_session"]
    assert second["id"] != first["id"] and second["started_at"] > first["last_seen_at"]
    assert [p["url"] for p in second["journey"]] == [f"{SHOP}/help"] and second["pages"] == 1
    # A new web session: the rule may invite once more.
    await customer.expect("invite", timeout=5)
    started = await customer.ok({"type": "start_chat", "queue": "support"})
    detail = await sb.admin("GET", f"/api/v1/conversations/{started['conversation_id']}")
    assert [p["url"] for p in detail["card"]["journey"]] == [f"{SHOP}/help"]


async def test_online_visitors_with_their_page_and_paging(sb):
    first, w1 = await sb.customer(page={"url": f"{SHOP}/a", "title": "A"})
    _second, w2 = await sb.customer()
    third, w3 = await sb.customer(page={"url": f"{SHOP}/c"})
    await third.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    ids = sorted(w["visitor_id"] for w in (w1, w2, w3))

    listed = await sb.admin("GET", "/api/v1/visitors?online=true")
    assert [v["visitor_id"] for v in listed["visitors"]] == ids and listed["next"] is None
    by_id = {v["visitor_id"]: v for v in listed["visitors"]}
    a = by_id[w1["visitor_id"]]
    assert a["online"] is True and a["conversation_id"] is None
    assert a["page"]["url"] == f"{SHOP}/a" and a["page"]["title"] == "A"
    assert a["web_session"]["started_at"] == a["page"]["since"]
    assert by_id[w2["visitor_id"]]["page"] is None and by_id[w2["visitor_id"]]["web_session"] is None
    assert by_id[w3["visitor_id"]]["conversation_id"] is not None

    page1 = await sb.admin("GET", "/api/v1/visitors?online=true&limit=2")
    assert [v["visitor_id"] for v in page1["visitors"]] == ids[:2] and page1["next"] == ids[1]
    page2 = await sb.admin("GET", f"/api/v1/visitors?online=true&limit=2&cursor={page1['next']}")
    assert [v["visitor_id"] for v in page2["visitors"]] == ids[2:] and page2["next"] is None

    # The list drops a visitor as soon as its last socket closes (the grace is for its chat).
    again, _ = await sb.customer(visitor_token=w1["visitor_token"])
    await first.close()
    assert w1["visitor_id"] in await online_ids(sb)  # another tab is still open
    await again.close()
    await eventually(lambda: _not_listed(sb, w1["visitor_id"]))
    detail = await visitor(sb, w1["visitor_id"])
    assert detail["online"] is False and detail["page"]["url"] == f"{SHOP}/a"


async def _not_listed(sb: Any, vid: str) -> bool:
    return vid not in await online_ids(sb)


async def test_visitor_queries_and_who_may_read(sb):
    for query in ("online=false", "limit=0", "limit=101", "limit=x", "cursor=a%20b"):
        assert_error(await sb.http.get(f"/api/v1/visitors?{query}"), 400, "bad_request")
    assert_error(await sb.http.get("/api/v1/visitors/v_nobody"), 404, "not_found")
    token = await sb.agent("alice")
    _, welcome = await sb.customer()
    async with as_agent(sb, token) as agent:
        listed = (await agent.get("/api/v1/visitors?online=true")).json()
        assert [v["visitor_id"] for v in listed["visitors"]] == [welcome["visitor_id"]]
        assert_error(await agent.get(f"/api/v1/visitors/{welcome['visitor_id']}"), 401, "unauthorized")
        assert_error(await agent.get("/api/v1/invite-rules"), 401, "unauthorized")
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
        for method, path in [
            ("GET", "/api/v1/visitors"),
            ("GET", f"/api/v1/visitors/{welcome['visitor_id']}"),
            ("POST", f"/api/v1/visitors/{welcome['visitor_id']}/invite"),
            ("GET", "/api/v1/invite-rules"),
            ("PUT", "/api/v1/invite-rules/r"),
            ("GET", "/api/v1/invite-rules/r"),
            ("DELETE", "/api/v1/invite-rules/r"),
        ]:
            assert_error(await anonymous.request(method, path, json={}), 401, "unauthorized")


# ---------------------------------------------------------------- invite rules


async def test_invite_rules_are_created_read_replaced_and_deleted(sb):
    created = await rule(sb, "checkout")
    assert created == {
        "id": "checkout",
        "queue": "support",
        "url_pattern": CHECKOUT,
        "seconds_on_page": 0.3,
        "text": "Need help paying?",
        "enabled": True,
        "only_when_agents_available": True,
        "updated_at": created["updated_at"],
    }
    assert await sb.admin("GET", "/api/v1/invite-rules/checkout") == created
    replaced = await rule(sb, "checkout", expect=200, enabled=False, seconds_on_page=30)
    assert replaced["enabled"] is False and replaced["seconds_on_page"] == 30
    await rule(sb, "a-help", url_pattern="*/help*")
    listed = (await sb.admin("GET", "/api/v1/invite-rules"))["invite_rules"]
    assert [r["id"] for r in listed] == ["a-help", "checkout"]
    await sb.admin("DELETE", "/api/v1/invite-rules/checkout", expect=204)
    assert_error(await sb.http.get("/api/v1/invite-rules/checkout"), 404, "not_found")
    assert_error(await sb.http.delete("/api/v1/invite-rules/checkout"), 404, "not_found")

    message = assert_error(
        await sb.http.put(
            "/api/v1/invite-rules/x", json={"queue": "nowhere", "url_pattern": "*", "seconds_on_page": 0, "text": "Hi"}
        ),
        400,
        "bad_request",
    )
    assert "nowhere" in message
    assert_error(
        await sb.http.put(
            "/api/v1/invite-rules/x",
            json={"queue": "support", "url_pattern": "*" * 501, "seconds_on_page": 0, "text": "Hi"},
        ),
        400,
        "too_long",
    )
    assert_error(
        await sb.http.put(
            "/api/v1/invite-rules/a%20b",
            json={"queue": "support", "url_pattern": "*", "seconds_on_page": 0, "text": "Hi"},
        ),
        400,
        "bad_request",
    )
    assert [r["id"] for r in (await sb.admin("GET", "/api/v1/invite-rules"))["invite_rules"]] == ["a-help"]


async def test_a_rule_invites_a_visitor_who_stays_on_a_matching_page(sb):
    await sb.available_agent("alice")
    customer, welcome = await sb.customer(page={"url": f"{SHOP}/"})
    vid = welcome["visitor_id"]
    # made after the visitor's first page view: the node notices the change of rules
    await rule(sb)
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout/pay"})
    invite = await customer.expect("invite")
    assert set(invite) >= {"type", "invite_id", "queue", "text"}
    assert (invite["queue"], invite["text"]) == ("support", "Need help paying?")
    (sent,) = await events_of(sb, "invite.sent")
    assert (sent["invite_id"], sent["visitor"], sent["queue"], sent["rule"]) == (
        invite["invite_id"],
        vid,
        "support",
        "checkout",
    )


async def test_no_invitation_for_a_visitor_who_moves_on_before(sb):
    await sb.available_agent("alice")
    await rule(sb, seconds_on_page=0.5)
    await rule(sb, "help", url_pattern="*/help", seconds_on_page=0.7, text="Questions?")
    customer, welcome = await sb.customer()
    vid = welcome["visitor_id"]
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    assert await timer(sb, vid, "checkout") is not None
    await customer.ok({"type": "page_view", "url": f"{SHOP}/help"})
    assert await timer(sb, vid, "checkout") is None  # cancelled by the next page view
    invite = await customer.expect("invite")
    assert invite["text"] == "Questions?"  # the later, longer timer: the first never fired
    assert [e["rule"] for e in await events_of(sb, "invite.sent")] == ["help"]


async def test_no_invitation_when_no_agent_is_ready_or_the_rule_is_off(sb):
    await sb.agent("alice")
    await rule(sb)
    customer, welcome = await sb.customer()
    vid = welcome["visitor_id"]
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    await timer_fired(sb, vid, "checkout")  # alice is not connected
    assert await events_of(sb, "invite.sent") == []

    # Without only_when_agents_available, an invitation goes out anyway.
    await rule(sb, expect=200, only_when_agents_available=False)
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    await customer.expect("invite")

    # A disabled rule arms nothing.
    await rule(sb, "other", url_pattern="*/other", enabled=False)
    await customer.ok({"type": "page_view", "url": f"{SHOP}/other"})
    assert await timer(sb, vid, "other") is None


async def test_a_rule_invites_once_per_web_session(sb):
    await sb.available_agent("alice")
    await rule(sb)
    customer, welcome = await sb.customer()
    vid = welcome["visitor_id"]
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    invite = await customer.expect("invite")
    await customer.ok({"type": "dismiss_invite", "invite_id": invite["invite_id"]})
    await customer.ok({"type": "page_view", "url": f"{SHOP}/"})
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    assert await timer(sb, vid, "checkout") is None
    # a reconnect is the same web session
    await sb.customer(visitor_token=welcome["visitor_token"], page={"url": f"{SHOP}/checkout"})
    assert await timer(sb, vid, "checkout") is None
    assert len(await events_of(sb, "invite.sent")) == 1


async def test_no_invitation_for_a_visitor_with_an_open_chat(sb):
    await rule(sb, only_when_agents_available=False)
    customer, welcome = await sb.customer()
    await customer.ok({"type": "start_chat", "queue": "support", "text": "hi"})
    await customer.ok({"type": "page_view", "url": f"{SHOP}/checkout"})
    await timer_fired(sb, welcome["visitor_id"], "checkout")
    assert await events_of(sb, "invite.sent") == []


# ---------------------------------------------------------------- outbound invitations


async def test_outbound_invitations_by_the_admin_and_by_agents_of_the_queue(sb):
    await sb.queue("sales")
    alice_token = await sb.agent("alice")
    bob_token = await sb.agent("bob", queues=["sales"])
    customer, welcome = await sb.customer()
    vid = welcome["visitor_id"]
    path = f"/api/v1/visitors/{vid}/invite"

    sent = await sb.admin("POST", path, {"queue": "support", "text": "Can we help?"}, expect=201)
    invite = await customer.expect("invite", invite_id=sent["invite_id"])
    assert (invite["queue"], invite["text"]) == ("support", "Can we help?")
    assert sent["expires_at"] == sent["sent_at"] + 600_000

    async with as_agent(sb, alice_token) as alice, as_agent(sb, bob_token) as bob:
        response = await alice.post(path, json={"queue": "support", "text": "Hello from Alice"})
        assert response.status_code == 201, response.text
        await customer.expect("invite", invite_id=response.json()["invite_id"])
        assert_error(await bob.post(path, json={"queue": "support", "text": "Hi"}), 403, "forbidden")
        assert_error(
            await alice.post("/api/v1/visitors/v_nobody/invite", json={"queue": "support", "text": "Hi"}),
            404,
            "not_found",
        )
    events = await events_of(sb, "invite.sent")
    assert [(e.get("agent"), e["source"]) for e in events] == [(None, "admin"), ("alice", "agent")]

    assert_error(await sb.http.post(path, json={"queue": "nowhere", "text": "Hi"}), 400, "bad_request")
    assert_error(await sb.http.post(path, json={"queue": "support", "text": ""}), 400, "bad_request")
    assert_error(await sb.http.post(path, json={"queue": "support", "text": "x" * 501}), 400, "too_long")
    await customer.ok({"type": "start_chat", "queue": "support"})
    assert_error(await sb.http.post(path, json={"queue": "support", "text": "Hi"}), 409, "conflict")
    await customer.close()
    await eventually(lambda: _not_listed(sb, vid))
    assert "not online" in assert_error(
        await sb.http.post(path, json={"queue": "support", "text": "Hi"}), 409, "conflict"
    )


# ---------------------------------------------------------------- answering


async def test_accepting_an_invitation_opens_a_chat_that_routes_to_the_agent(sb):
    await sb.queue("sales")
    alice = await sb.available_agent("alice", queues=["sales"])
    customer, welcome = await sb.customer(page={"url": f"{SHOP}/checkout"})
    sent = await sb.admin(
        "POST", f"/api/v1/visitors/{welcome['visitor_id']}/invite", {"queue": "sales", "text": "Hi!"}, expect=201
    )
    invite = await customer.expect("invite")
    accepted = await customer.ok({"type": "accept_invite", "invite_id": invite["invite_id"]})
    cid = accepted["conversation_id"]
    await customer.expect("chat.queued", conversation_id=cid)
    offer = await alice.expect("offer", conversation_id=cid)
    assert offer["queue"] == {"id": "sales", "name": "Sales"} and offer["language"] == "en"
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await alice.expect("conversation.assigned", conversation_id=cid)
    assert [p["url"] for p in assigned["card"]["journey"]] == [f"{SHOP}/checkout"]
    await customer.expect("chat.connected")
    await customer.ok({"type": "message", "text": "I cannot pay"})
    await alice.expect("message", text="I cannot pay")

    events = await events_of(sb, "invite.sent", "invite.accepted", "session.queued")
    assert [e["type"] for e in events] == ["invite.sent", "invite.accepted", "session.queued"]
    assert events[1]["invite_id"] == sent["invite_id"] and events[1]["conversation_id"] == cid
    assert events[1]["session_id"] == accepted["session_id"] and events[1]["queue"] == "sales"
    # answered: not again
    again = await customer.request({"type": "accept_invite", "invite_id": invite["invite_id"]})
    assert again["code"] == "not_found"


async def test_dismissing_and_foreign_or_unknown_invitations(sb):
    customer, welcome = await sb.customer()
    other, other_welcome = await sb.customer()
    path = "/api/v1/visitors/{}/invite"
    mine = await sb.admin("POST", path.format(welcome["visitor_id"]), {"queue": "support", "text": "Hi"}, expect=201)
    theirs = await sb.admin(
        "POST", path.format(other_welcome["visitor_id"]), {"queue": "support", "text": "Hi"}, expect=201
    )
    for kind in ("accept_invite", "dismiss_invite"):
        for invite_id in (theirs["invite_id"], "i999999"):
            answer = await customer.request({"type": kind, "invite_id": invite_id})
            assert answer["type"] == "error" and answer["code"] == "not_found", answer
    dismissed = await customer.ok({"type": "dismiss_invite", "invite_id": mine["invite_id"]})
    assert dismissed["state"] == "dismissed"
    for kind in ("accept_invite", "dismiss_invite"):
        assert (await customer.request({"type": kind, "invite_id": mine["invite_id"]}))["code"] == "not_found"
    (event,) = await events_of(sb, "invite.dismissed")
    assert event["invite_id"] == mine["invite_id"] and event["visitor"] == welcome["visitor_id"]
    # the other visitor's invitation is untouched
    await other.ok({"type": "accept_invite", "invite_id": theirs["invite_id"]})
