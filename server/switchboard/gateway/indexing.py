"""Feeds the conversation search index from the sockets, after the store accepted.

Indexing is a second step after the message's atomic Lua step, not part of it: that
step must touch only the one conversation's keys, and the index is deployment-wide.
The message is stored and acknowledged whatever happens here, so a failure to index
is logged and swallowed: search may then miss that message, the chat goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..store.search import SearchIndex

log = logging.getLogger(__name__)


class Indexer:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    async def _add(self, cid: str, texts: list[str]) -> None:
        try:
            await self.index.add(cid, texts)
        except Exception:  # any failure: the message itself is already stored
            log.warning("could not index conversation %s for search", cid, exc_info=True)

    async def conversation_started(self, cid: str, customer: Mapping[str, str], text: str) -> None:
        """A new conversation: its customer fields and its first text, if any."""
        fields = [customer.get(k) or "" for k in ("name", "email", "phone")]
        await self._add(cid, [*fields, text])

    async def message(self, cid: str, text: str) -> None:
        """A customer or agent message; never an internal note, which is not part of
        what was said with the customer."""
        await self._add(cid, [text])
