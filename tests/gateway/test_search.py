"""Conversation search `GET /api/v1/conversations`: real chats over real sockets, a
real node, Redis and PostgreSQL (search is PostgreSQL's full-text search, so a
search waits until the archive caught up); then the search directly against
PostgreSQL, with rows made to order.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from support import eventually
from switchboard.domain import search as pure
from switchboard.domain.records import ConversationSnapshot, HistoryEntry
from switchboard.record.archive import Archive
from switchboard.record.database import Database
from switchboard.record.search import ConversationSearch

PATH = "/api/v1/conversations"


def assert_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


async def caught_up(sb: Any) -> None:
    """Until PostgreSQL has every change the node made (search reads PostgreSQL)."""

    async def empty() -> bool:
        backlog = await sb.node.services.router.archive_backlog()
        return backlog["conversations"] == 0

    await eventually(empty)


async def listing(sb: Any, **params: Any) -> dict[str, Any]:
    await caught_up(sb)
    response = await sb.http.get(PATH, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"conversations", "next"}, body
    return body


async def found(sb: Any, **params: Any) -> list[str]:
    body = await listing(sb, **params)
    assert body["next"] is None, body  # every test here fits on one page
    return [card["conversation_id"] for card in body["conversations"]]


async def every_page(sb: Any, **params: Any) -> tuple[list[str], int]:
    """Follows `next` to the end; the conversation ids in order, and the number of pages."""
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        body = await listing(sb, **params, **({"cursor": cursor} if cursor else {}))
        pages += 1
        ids += [card["conversation_id"] for card in body["conversations"]]
        cursor = body["next"]
        if cursor is None:
            return ids, pages
        assert pages < 50, "paging does not end"


async def served(sb: Any, agent: Any, text: str, **start: Any) -> tuple[Any, str]:
    """A customer's chat that `agent` accepted."""
    customer, started = await sb.chat(text=text, **start)
    cid = started["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await agent.expect("conversation.assigned", conversation_id=cid)
    return customer, cid


async def test_finds_what_customer_and_agent_wrote_the_customer_fields_and_notes(sb):
    alice = await sb.available_agent("alice")
    customer, cid = await served(
        sb,
        alice,
        "Where is my parcel?",
        customer={"name": "Bob Stone", "email": "bob@example.com", "phone": "+49 170 5550123"},
    )
    await customer.ok({"type": "message", "text": "It was due on Monday"})
    await alice.ok({"type": "message", "conversation_id": cid, "text": "Your tracking number is ZX42."})
    await alice.ok({"type": "note", "conversation_id": cid, "text": "customer sounds grumpy"})
    _, other = await served(sb, alice, "I want a refund", customer={"name": "Carol"})

    assert await found(sb, q="parcel") == [cid]  # the first text of start_chat
    assert await found(sb, q="MONDAY") == [cid]  # a later customer message, any case
    assert await found(sb, q="zx42") == [cid]  # the agent's message
    assert await found(sb, q="bob@example.com") == [cid]  # the customer's fields
    assert await found(sb, q="stone") == [cid]
    assert await found(sb, q="5550123") == [cid]
    assert await found(sb, q="carol refund") == [other]
    assert await found(sb, q="grumpy") == [cid]  # notes: the admin may read them
    assert await found(sb, q="parcel grumpy") == [cid]
    assert await found(sb, q="parcel wardrobe") == []  # every word is needed
    assert await found(sb, q="parcel tracking bob") == [cid]
    assert await found(sb, q="parcel refund") == []
    assert await found(sb, q="parc") == []  # whole words
    assert await found(sb, q="a parcel") == [cid]  # one-letter words are not searched for

    card = (await listing(sb, q="parcel"))["conversations"][0]
    assert card["status"] == "active" and card["customer"]["name"] == "Bob Stone"
    assert card["agents"] == [{"id": "alice", "display_name": "Alice"}]


async def test_a_reopened_conversation_is_found_by_its_new_words_with_its_current_card(sb):
    alice = await sb.available_agent("alice")
    customer, cid = await served(sb, alice, "First question")
    first = await customer.expect("chat.queued")
    await alice.ok({"type": "end_session", "conversation_id": cid})
    await customer.expect("chat.ended")
    await customer.ok({"type": "message", "text": "Another question about my invoice"})
    second = await customer.wait(lambda f: f["type"] == "chat.queued" and f["session_id"] != first["session_id"])

    (card,) = (await listing(sb, q="invoice"))["conversations"]
    assert card["conversation_id"] == cid and card["session_id"] == second["session_id"]
    assert await found(sb, q="first question invoice") == [cid]  # words of both sessions


async def test_state_and_queue_filters(sb):
    await sb.queue("billing")
    alice = await sb.available_agent("alice", capacity=1)  # so that later chats wait
    _, active = await served(sb, alice, "order one")
    waiting = (await sb.chat(text="order two"))[1]["conversation_id"]
    billing = (await sb.chat(queue="billing", text="order three"))[1]["conversation_id"]
    gone, started = await sb.chat(text="order four")
    await gone.ok({"type": "end_chat"})
    closed = started["conversation_id"]

    assert await found(sb, state="active") == [active]
    assert set(await found(sb, state="waiting")) == {waiting, billing}
    assert await found(sb, state="waiting", queue="billing") == [billing]
    assert await found(sb, state="closed") == [closed]
    assert await found(sb, state="offered") == []
    assert set(await found(sb, queue="support")) == {active, waiting, closed}
    assert await found(sb, queue="nobody") == []
    assert set(await found(sb, q="order", state="waiting")) == {waiting, billing}
    assert await found(sb, q="three", queue="support") == []
    cards = (await listing(sb, state="waiting", queue="support"))["conversations"]
    assert [(c["status"], c["queue"]["id"]) for c in cards] == [("waiting", "support")]


async def test_pages_return_each_conversation_once_newest_activity_first(sb):
    await sb.queue("billing")
    started = []
    for i in range(8):
        queue = "billing" if i % 3 == 0 else "support"
        customer, ack = await sb.chat(queue=queue, text=f"order number {i}")
        started.append((customer, ack["conversation_id"], queue))
    everyone = [cid for _, cid, _ in started]
    in_support = [cid for _, cid, queue in started if queue == "support"]

    search = sb.node.services.search
    await caught_up(sb)

    async def newest_first(ids: list[str]) -> list[str]:
        activity = {cid: await search.activity_ms(cid) for cid in ids}
        return sorted(ids, key=lambda cid: (activity[cid], cid), reverse=True)

    ids, pages = await every_page(sb, limit=3)
    assert ids == await newest_first(everyone) and pages >= 3
    # with a filter, pages fill up from further down the order
    ids, pages = await every_page(sb, queue="support", limit=2)
    assert ids == await newest_first(in_support) and pages >= 3
    ids, _ = await every_page(sb, q="order number", state="waiting", queue="support", limit=1)
    assert set(ids) == set(in_support)  # a query ranks by match first

    # a message moves its conversation to the front
    oldest_customer, oldest, _ = started[0]
    latest = max([await search.activity_ms(cid) for cid in everyone])
    await eventually(_clock_past(latest))
    await oldest_customer.ok({"type": "message", "text": "still there?"})
    first_page = await listing(sb, limit=3)
    assert first_page["conversations"][0]["conversation_id"] == oldest
    assert len(first_page["conversations"]) == 3 and first_page["next"] is not None


def _clock_past(ms: int) -> Any:
    async def probe() -> bool:
        return time.time_ns() // 1_000_000 > ms

    return probe


@pytest.mark.parametrize(
    "params",
    [
        {"state": "bogus"},
        {"state": "rona"},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"cursor": "garbage"},
        {"cursor": "12:bad id"},
        {"q": "a"},
        {"q": "!!"},
        {"q": "x " * 300},
        {"queue": "bad id"},
    ],
)
async def test_bad_parameters_are_400(sb, params):
    message = assert_error(await sb.http.get(PATH, params=params), 400, "bad_request")
    assert next(iter(params)) in message


async def test_limit_bounds_are_inclusive_and_empty_parameters_count_as_absent(sb):
    assert (await listing(sb, limit=1))["conversations"] == []
    assert (await listing(sb, limit=100))["next"] is None
    assert await found(sb, q="", state="", queue="", cursor="") == []


async def test_search_needs_a_token_and_an_agent_searches_only_its_own_conversations(sb):
    token = await sb.agent("alice")
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        assert_error(await anonymous.get(PATH), 401, "unauthorized")
        assert_error(await anonymous.get(PATH, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
        bob = await sb.available_agent("bob", capacity=1)
        alice, _ = await sb.agent_socket(token)
        await alice.ok({"type": "set_state", "state": "available"})
        # bob takes the first chat (he has been idle longer), alice the next two
        _, bobs = await served(sb, bob, "parcel 4711 is missing")
        _, first = await served(sb, alice, "parcel 4711 arrived broken")
        customer, second = await served(sb, alice, "invoice question")
        await customer.ok({"type": "message", "text": "about parcel 4711 too"})

        as_alice = {"Authorization": f"Bearer {token}"}

        async def search(**params: Any) -> list[str]:
            response = await anonymous.get(PATH, params=params, headers=as_alice)
            assert response.status_code == 200, response.text
            return [card["conversation_id"] for card in response.json()["conversations"]]

        await eventually(lambda: _found_all(search, {second, first}, q="parcel 4711"))
        assert await search(q="parcel 4711") == [second, first]  # newest activity first; never bob's
        assert await search(q="invoice") == [second]
        assert await search() == [second, first]
        page = (await anonymous.get(PATH, params={"limit": 1}, headers=as_alice)).json()
        assert [c["conversation_id"] for c in page["conversations"]] == [second] and page["next"]
        rest = (await anonymous.get(PATH, params={"limit": 1, "cursor": page["next"]}, headers=as_alice)).json()
        assert [c["conversation_id"] for c in rest["conversations"]] == [first] and rest["next"] is None
        assert bobs in await found(sb, q="parcel 4711")  # the admin finds every conversation

        # the transcript of its own conversation, never another's
        mine = await anonymous.get(f"{PATH}/{first}", headers=as_alice)
        assert mine.status_code == 200 and mine.json()["messages"][0]["text"] == "parcel 4711 arrived broken"
        other = await anonymous.get(f"{PATH}/{bobs}", headers=as_alice)
        assert_error(other, 403, "forbidden")
        assert "4711" not in other.text


async def _found_all(search: Any, wanted: set[str], **params: Any) -> bool:
    return set(await search(**params)) == wanted


# ---------------------------------------------------------------- the search, directly against PostgreSQL


@pytest.fixture
async def database(database_url: str) -> Any:
    db = Database(database_url, 2)
    await db.start()
    yield db
    await db.stop()


T0 = 1_800_000_000_000


async def conversation(
    db: Database, cid: str, texts: list[str], *, language: str = "en", active_ms: int = T0, queue: str = "q"
) -> None:
    """A conversation as the archive writes it: one session, its messages in order."""
    view = {
        "id": f"s-{cid}",
        "conv": cid,
        "visitor": f"v-{cid}",
        "queue": queue,
        "status": "waiting",
        "language": language,
        "queued_at": str(active_ms),
        "channel": "webchat",
        "customer": {},
    }
    history = [
        HistoryEntry(
            seq, "all", {"type": "message", "seq": seq, "ts": active_ms, "text": text, "from": {"role": "customer"}}
        )
        for seq, text in enumerate(texts, start=1)
    ]
    record = {"visitor": f"v-{cid}", "channel": "webchat", "created_at": str(active_ms), "open": "1"}
    await Archive(db).write_conversation(
        ConversationSnapshot(cid, record, [view], history, last_activity=active_ms, visitor_created_at=active_ms)
    )


async def walk(search: ConversationSearch, query: str | None, limit: int, queue: str | None = None) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(100):
        page, cursor = await search.page(query, None, queue, limit, cursor)
        ids += [found.conversation_id for found in page]
        if cursor is None:
            return ids
    raise AssertionError("paging does not end")


async def test_words_are_found_in_the_conversations_language_stemmed(database):
    await conversation(database, "de1", ["Wo ist meine Bestellung?"], language="de")
    await conversation(database, "en1", ["I want a refund for the broken chair"], language="en")
    await conversation(database, "fr1", ["Je voudrais annuler mes commandes"], language="fr")
    await conversation(database, "xx1", ["reembolsos encomendas"], language="pt")
    search = ConversationSearch(database)
    assert await walk(search, "Bestellungen", 10) == ["de1"]  # German stemming; not the word-for-word one
    assert await walk(search, "refunds", 10) == ["en1"]
    assert await walk(search, "commande", 10) == ["fr1"]
    assert await walk(search, "encomendas", 10) == ["xx1"]  # simple: the words as written
    assert await walk(search, "encomenda", 10) == []
    assert await walk(search, "the", 10) == []  # English stop words find nothing


async def test_the_better_match_comes_first_then_the_newest(database):
    await conversation(database, "once", ["refund please"], active_ms=T0 + 3)
    await conversation(database, "often", ["refund", "a refund for my refund"], active_ms=T0 + 1)
    await conversation(database, "old", ["refund please"], active_ms=T0 + 2)
    search = ConversationSearch(database)
    assert await walk(search, "refund", 10) == ["often", "once", "old"]
    assert await walk(search, "refund", 1) == ["often", "once", "old"]  # the same, page by page


async def test_pages_go_newest_first_and_ties_by_id_without_repeats(database):
    for i in range(10):
        await conversation(
            database,
            f"c{i:02d}",
            [f"common {'even' if i % 2 == 0 else 'odd'}"],
            active_ms=T0 + (i // 4),
            queue="r" if i % 3 == 0 else "q",
        )
    cids = [f"c{i:02d}" for i in range(10)]
    newest_first = sorted(cids, key=lambda c: (int(c[1:]) // 4, c), reverse=True)
    search = ConversationSearch(database)
    for limit in (1, 3, 10):
        assert await walk(search, None, limit) == newest_first
        assert await walk(search, "common", limit) == newest_first  # equal rank: by activity
        assert await walk(search, None, limit, queue="r") == [c for c in newest_first if int(c[1:]) % 3 == 0]
    assert await walk(search, "common even", 2) == [c for c in newest_first if int(c[1:]) % 2 == 0]
    assert await walk(search, "common missing", 2) == []


# ---------------------------------------------------------------- the tokenizer


def test_words_are_lowercase_unicode_words_of_2_to_40_characters():
    text = "Hello, WORLD! hello a 42 I'm café Straße " + "x" * 40 + " " + "y" * 41 + " snake_case"
    assert pure.words(text) == ["hello", "world", "42", "café", "strasse", "x" * 40, "snake_case"]
    assert pure.words("привет мир, 東京") == ["привет", "мир", "東京"]
    many = " ".join(f"w{i}" for i in range(300))
    assert pure.words(many) == [f"w{i}" for i in range(200)]  # the first 200 distinct words
    assert pure.query_words("Bob@Example.com") == ["bob", "example", "com"]
