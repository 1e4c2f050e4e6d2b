"""Copies the live work from Redis to PostgreSQL, continuously, on every node.

Each step: the lifecycle events after the archive's cursor (one node at a
time, by a lease), the conversations the routing steps marked, the visitors
whose journey grew; then the finished conversations past the live window
leave Redis (store/archive.py says how each step stays correct when a node
dies in it). The live path never waits for any of this: while PostgreSQL is
away the marks and the events wait in Redis, and the next steps drain them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from .background import Background, cancel_and_wait
from .domain.errors import SwitchboardError
from .domain.records import ConversationSnapshot
from .record.archive import Archive
from .record.database import RECORD_ERRORS
from .record.privacy import Privacy
from .store.clock import now_ms
from .store.router import Router

log = logging.getLogger(__name__)

#: History entries one copy of a conversation takes; a longer backlog goes in the next step.
ENTRIES_PER_COPY = 1000
#: What pauses archiving until the next step: Redis or PostgreSQL away.
PAUSING_ERRORS: tuple[type[BaseException], ...] = (SwitchboardError, *RECORD_ERRORS)
#: Conversations read from Redis (or copied whole) at once: the store's batcher sends
#: the reads of several in one round trip.
PARALLEL_COPIES = 8


class Archiver(Background):
    def __init__(
        self,
        router: Router,
        archive: Archive,
        node_id: str,
        *,
        interval_s: float,
        batch: int,
        lease_s: float,
        live_retention_s: float,
        privacy: Privacy,
        retention_days: float,
        retention_sweep_s: float,
    ) -> None:
        self.router = router
        self.archive = archive
        self.node_id = node_id
        self.interval_s = interval_s
        self.batch = batch
        self.lease_ms = int(lease_s * 1000)
        self.live_retention_ms = int(live_retention_s * 1000)
        self.privacy = privacy
        self.retention_days = retention_days
        self.retention_sweep_s = retention_sweep_s
        self._next_sweep = 0.0
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="archiver")

    async def stop(self) -> None:
        # A cancelled query may come back from asyncpg as PostgreSQL's "canceling statement"
        # error, which the loop takes for an outage: the flag ends the loop all the same.
        self._stopping = True
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                more = await self.step()
            except PAUSING_ERRORS as exc:
                log.warning("archiving paused: %s", getattr(exc, "message", None) or repr(exc))
                more = False
            except Exception:
                log.exception("archiving step failed")
                more = False
            if not more and not self._stopping:
                await asyncio.sleep(self.interval_s)

    async def step(self) -> bool:
        """One round of every kind of work; whether there may be more right away."""
        events = await self.copy_events()
        conversations = await self.copy_conversations()
        visitors = await self.copy_visitors()
        await self.trim()
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.retention_sweep_s
            await self.sweep_retention()
        return events >= self.batch * 10 or conversations >= self.batch or visitors >= self.batch

    async def copy_events(self) -> int:
        if not await self.router.hold_archive_lease("events", self.node_id, self.lease_ms):
            return 0
        cursor = await self.router.archived_events_cursor()
        events = await self.router.events_after(cursor, self.batch * 10)
        if events:
            await self.archive.write_events(events)
            cursor = events[-1][0]
            await self.router.set_archived_events_cursor(cursor)
        if cursor != "0-0":
            await self.router.trim_events(cursor, now_ms() - self.live_retention_ms)
        return len(events)

    async def copy_conversations(self) -> int:
        """Copies the conversations marked since the last step: those with messages alone all
        in one statement, the others (a routing step changed them) one transaction each."""
        cids = await self.router.claim_archive_work("dirty", self.batch, self.lease_ms)
        if not cids:
            return 0
        try:
            await self._copy(cids)
        except BaseException:
            # marked again, whole, so that the next step (here or on another node) copies them
            await self.router.mark_archive_routing(cids)
            await self.router.mark_archive_dirty(cids)
            raise
        finally:
            await self.router.release_archive_work("dirty", cids)
        return len(cids)

    async def _copy(self, cids: list[str]) -> None:
        limit = asyncio.Semaphore(PARALLEL_COPIES)

        async def snapshot(cid: str) -> ConversationSnapshot | None:
            async with limit:
                return await self.router.conversation_snapshot(cid, ENTRIES_PER_COPY)

        async def whole(snapshot: ConversationSnapshot) -> int | None:
            async with limit:
                return await self.archive.write_conversation(snapshot)

        found = [s for s in await asyncio.gather(*(snapshot(cid) for cid in cids)) if s is not None]
        light = [s for s in found if s.sessions is None]
        held = await self.archive.append_messages(light) if light else {}
        lacking = [s.conversation_id for s in light if s.conversation_id not in held]
        if lacking:  # messages alone, and PostgreSQL does not have the conversation yet: whole copies
            await self.router.mark_archive_routing(lacking)
            again = await asyncio.gather(*(snapshot(cid) for cid in lacking))
            found = [s for s in found if s.conversation_id not in lacking] + [s for s in again if s is not None]
        heavy = [s for s in found if s.sessions is not None]
        for s, seq in zip(heavy, await asyncio.gather(*(whole(s) for s in heavy)), strict=True):
            if seq is not None:
                held[s.conversation_id] = seq
        await asyncio.gather(*(self.router.confirm_archived(cid, seq) for cid, seq in held.items()))
        more = [s.conversation_id for s in found if len(s.history) >= ENTRIES_PER_COPY]
        if more:
            await self.router.mark_archive_dirty(more)

    async def copy_visitors(self) -> int:
        vids = await self.router.claim_archive_work("visitors", self.batch, self.lease_ms)
        try:
            for vid in vids:
                snapshot = await self.router.visitor_snapshot(vid)
                if snapshot is not None:
                    await self.archive.write_visitor(snapshot)
        except BaseException:
            await self.router.mark_archive_visitors(vids)
            await self.router.release_archive_work("visitors", vids)
            raise
        await self.router.release_archive_work("visitors", vids)
        return len(vids)

    async def trim(self) -> int:
        """Finished conversations past the live window leave Redis (each re-checked in one step)."""
        now = now_ms()
        cids = await self.router.finished_before(now - self.live_retention_ms, self.batch)
        removed = await self.router.trim_conversations(cids, self.live_retention_ms, now=now)
        await self.router.trim_visitors(self.live_retention_ms, self.batch, now=now)
        return len(removed)

    async def sweep_retention(self) -> int:
        """Deletes, everywhere, the conversations that ended longer ago than retention keeps them
        (one node at a time); returns how many went."""
        queue_days = await self.router.queue_retention_days()
        if not self.retention_days and not queue_days:
            return 0
        if not await self.router.hold_archive_lease("retention", self.node_id, self.lease_ms):
            return 0
        gone = 0
        while True:
            now = now_ms()
            cids = await self.privacy.expired_conversations(self.retention_days, queue_days, now, self.batch)
            if not cids:
                break
            removed = set(await self.router.forget_conversations(cids))
            # one that came back to life meanwhile (a customer wrote again) is kept, here and there
            alive = set(await self.router.live_conversation_ids([c for c in cids if c not in removed]))
            gone += await self.privacy.delete_conversations([c for c in cids if c not in alive], now)
            if len(cids) < self.batch:
                break
        return gone
