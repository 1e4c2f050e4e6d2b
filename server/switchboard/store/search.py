"""The conversation search index in Redis, and paging through it.

Keys (all under one hash tag, so word sets can be intersected on one shard):
- per word, a set of the conversation ids whose messages or customer fields hold it;
- one sorted set of every indexed conversation id, scored by its last activity (ms).

The index is written by the gateway after the store accepted a message, not by the
message's Lua step: that step touches only one conversation's keys (so message
traffic can spread over Cluster shards), while the index is shared by the whole
deployment. So the index can miss a message whose indexing failed; it never holds
a message that was refused.

A page walks the conversations newest first from the cursor, keeps those whose
current session's card passes the filters and stops at `limit` matches or after
looking at `scan_limit` conversations, whichever comes first; `next` is where it
stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import Any

from redis.asyncio import Redis

from ..domain import search
from ..domain.search import Position
from ..domain.states import SessionStatus
from . import clock
from .errors import call
from .keys import Keys
from .router import Router


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SearchIndex:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        router: Router,
        *,
        sparse_limit: int = 10_000,
        scan_limit: int = 5_000,
        batch: int = 100,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.router = router
        # A query whose rarest word is in at most `sparse_limit` conversations is
        # answered from the intersection of its word sets; a query of common words
        # only walks the activity order instead, so no request ever moves an
        # unbounded number of ids.
        self.sparse_limit = sparse_limit
        self.scan_limit = scan_limit
        self.batch = batch

    # ------------------------------------------------------------ writing

    async def add(self, cid: str, texts: Iterable[str], now_ms: int | None = None) -> None:
        """Indexes the words of `texts` for the conversation and marks it active now.
        Idempotent apart from the activity time, so indexing a retried message again
        does no harm (and repairs an earlier failed attempt)."""
        await self.add_many([(cid, texts)], now_ms)

    async def add_many(self, entries: Iterable[tuple[str, Iterable[str]]], now_ms: int | None = None) -> None:
        """`add` for several conversations at once, in one step."""
        now_ms = clock.now_ms() if now_ms is None else now_ms
        keys = [self.keys.search_activity]
        args: list[Any] = [now_ms]
        for cid, texts in entries:
            found: dict[str, None] = {}
            for text in texts:
                found.update(dict.fromkeys(search.words(text)))
            keys.extend(self.keys.search_word(word) for word in found)
            args += [cid, len(found)]
        # One script, not a MULTI/EXEC pipeline: this runs after every message, and
        # one command with one reply costs the node a fraction of k+3 of them.
        await call(self.router.scripts["search_add"](keys=keys, args=args))

    # ------------------------------------------------------------ reading

    async def page(
        self,
        words: list[str],
        state: SessionStatus | None,
        queue: str | None,
        limit: int,
        cursor: Position | None,
    ) -> dict[str, Any]:
        """`{conversations: [cards], next}`: the cards of the current sessions of the
        conversations holding every word (all conversations for none), newest
        activity first, after `cursor`. `next` is null once nothing follows."""
        filtered = state is not None or queue is not None
        cards: list[dict[str, Any]] = []
        position = cursor
        looked_at = 0
        async with contextlib.aclosing(self._ordered(words, cursor)) as batches:
            async for chunk, last, seen in batches:
                while chunk:
                    # Without filters every conversation matches: fetch just the cards needed.
                    need = limit - len(cards)
                    size = max(need, 50) if filtered else need
                    part, chunk = chunk[:size], chunk[size:]
                    by_conversation = await self._cards([cid for _, cid in part])
                    for entry in part:
                        position = entry
                        card = by_conversation.get(entry[1])
                        if card is not None and search.card_matches(card, state, queue):
                            cards.append(card)
                            if len(cards) == limit:
                                return {"conversations": cards, "next": search.encode_cursor(position)}
                position = last
                looked_at += seen
                if looked_at >= self.scan_limit:
                    return {"conversations": cards, "next": search.encode_cursor(position)}
        return {"conversations": cards, "next": None}

    async def page_for_agent(
        self,
        aid: str,
        words: list[str],
        state: SessionStatus | None,
        queue: str | None,
        limit: int,
        cursor: Position | None,
    ) -> dict[str, Any]:
        """As `page`, among the conversations the agent took part in (at most the
        newest 1000, kept by the router): an agent's search never shows another's."""
        rows = await call(self.redis.zrange(self.keys.agent_conversations(aid), 0, -1, withscores=True))
        joined = {_s(cid): int(score) for cid, score in rows}
        ids = list(joined)
        if ids and words:
            pipe = self.redis.pipeline(transaction=False)
            for word in words:
                pipe.smismember(self.keys.search_word(word), ids)
            member_rows = await call(pipe.execute())
            ids = [cid for i, cid in enumerate(ids) if all(row[i] for row in member_rows)]
        if not ids:
            return {"conversations": [], "next": None}
        scores = await call(self.redis.zmscore(self.keys.search_activity, ids))
        entries = sorted(
            ((int(score) if score is not None else joined[cid], cid) for cid, score in zip(ids, scores, strict=False)),
            reverse=True,
        )
        entries = [e for e in entries if search.after(e, cursor)]
        cards: list[dict[str, Any]] = []
        for start in range(0, len(entries), self.batch):
            part = entries[start : start + self.batch]
            by_conversation = await self._cards([cid for _, cid in part])
            for entry in part:
                card = by_conversation.get(entry[1])
                if card is not None and search.card_matches(card, state, queue):
                    cards.append(card)
                    if len(cards) == limit:
                        more = entry != entries[-1]
                        return {"conversations": cards, "next": search.encode_cursor(entry) if more else None}
        return {"conversations": cards, "next": None}

    async def took_part(self, aid: str, cid: str) -> bool:
        return await call(self.redis.zscore(self.keys.agent_conversations(aid), cid)) is not None

    async def _cards(self, cids: list[str]) -> dict[str, dict[str, Any]]:
        """The card of each conversation's current session."""
        pipe = self.redis.pipeline(transaction=False)
        for cid in cids:
            pipe.hget(self.keys.conversation_record(cid), "session")
        sessions = [_s(s) for s in await call(pipe.execute()) if s]
        return {card["conversation_id"]: card for card in await self.router.session_cards(sessions)}

    async def _ordered(
        self, words: list[str], cursor: Position | None
    ) -> AsyncGenerator[tuple[list[Position], Position, int], None]:
        """Batches of matching conversations after `cursor`, newest first, each with
        the position of the last conversation looked at for it (matching or not) and
        how many were looked at."""
        if not words:
            async for batch in self._activity(cursor):
                yield batch, batch[-1], len(batch)
            return
        pipe = self.redis.pipeline(transaction=False)
        for word in words:
            pipe.scard(self.keys.search_word(word))
        sizes = await call(pipe.execute())
        if min(sizes) == 0:
            return
        if min(sizes) <= self.sparse_limit:
            for batch in await self._intersection(words, cursor):
                yield batch, batch[-1], len(batch)
            return
        async for batch in self._activity(cursor):
            pipe = self.redis.pipeline(transaction=False)
            ids = [cid for _, cid in batch]
            for word in words:
                pipe.smismember(self.keys.search_word(word), ids)
            member_rows = await call(pipe.execute())
            kept = [entry for i, entry in enumerate(batch) if all(row[i] for row in member_rows)]
            yield kept, batch[-1], len(batch)

    async def _intersection(self, words: list[str], cursor: Position | None) -> list[list[Position]]:
        """The conversations holding every word, after `cursor`, in batches."""
        ids = [_s(m) for m in await call(self.redis.sinter([self.keys.search_word(w) for w in words]))]
        if not ids:
            return []
        scores = await call(self.redis.zmscore(self.keys.search_activity, ids))
        entries = sorted(
            ((int(score), cid) for cid, score in zip(ids, scores, strict=False) if score is not None), reverse=True
        )
        entries = [e for e in entries if search.after(e, cursor)]
        return [entries[i : i + self.batch] for i in range(0, len(entries), self.batch)]

    async def _activity(self, cursor: Position | None) -> AsyncIterator[list[Position]]:
        """Every indexed conversation after `cursor`, newest first, in batches."""
        position = cursor
        while True:
            batch = await self._activity_after(position)
            if not batch:
                return
            yield batch
            position = batch[-1]

    async def _activity_after(self, position: Position | None) -> list[Position]:
        top: Any = "+inf" if position is None else position[0]
        fetch = self.batch
        while True:
            rows = await call(
                self.redis.zrange(
                    self.keys.search_activity,
                    top,
                    "-inf",
                    desc=True,
                    byscore=True,
                    offset=0,
                    num=fetch,
                    withscores=True,
                )
            )
            # Rows of the cursor's own millisecond come first (by id, descending);
            # those at or before the cursor were on an earlier page.
            entries = [e for e in ((int(score), _s(cid)) for cid, score in rows) if search.after(e, position)]
            if entries or len(rows) < fetch:
                return entries
            fetch *= 2  # a whole batch shares the cursor's millisecond: look further
