"""Feeds the conversation search index from the sockets, after the store accepted.

Indexing is a second step after the message's atomic Lua step, not part of it: that
step must touch only the one conversation's keys, and the index is deployment-wide.
The message is stored and acknowledged whatever happens here, so a failure to index
is logged and swallowed: search may then miss that message, the chat goes on.

Indexing is a group commit: while one batch is being written, the messages that
arrive meanwhile wait for the next, which is written as one command as soon as
the first returns. A message is still acknowledged only once its words are
indexed (search finds what was acknowledged), but under load the node sends one
index command for many messages instead of one each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ..store.search import SearchIndex

log = logging.getLogger(__name__)

_Entry = tuple[str, list[str], "asyncio.Future[None]"]


class Indexer:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self._pending: list[_Entry] = []
        self._writer: asyncio.Task[None] | None = None

    async def _add(self, cid: str, texts: list[str]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((cid, texts, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="search-indexer")
        await done

    async def _write(self) -> None:
        batch: list[_Entry] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self.index.add_many([(cid, texts) for cid, texts, _ in batch])
                except Exception:  # any failure: the messages themselves are already stored
                    for cid, _, _ in batch:
                        log.warning("could not index conversation %s for search", cid, exc_info=True)
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            # Cancelled (the node is stopping): nobody waits for an index write forever.
            for _, _, done in [*batch, *self._pending]:
                if not done.done():
                    done.set_result(None)
            self._pending = []
            self._writer = None

    async def conversation_started(self, cid: str, customer: Mapping[str, str], text: str) -> None:
        """A new conversation: its customer fields and its first text, if any."""
        fields = [customer.get(k) or "" for k in ("name", "email", "phone")]
        await self._add(cid, [*fields, text])

    async def message(self, cid: str, text: str) -> None:
        """A customer or agent message; never an internal note, which is not part of
        what was said with the customer."""
        await self._add(cid, [text])
