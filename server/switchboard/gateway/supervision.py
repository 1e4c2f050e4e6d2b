"""The supervisors' live feed: every node serves its own supervisor sockets.

- Every `stats_interval_s` each local supervisor socket gets
  `{type: "stats", queues: [...], ts}`: the figures of its queues over the last
  `FEED_WINDOW_S`, as `GET /api/v1/stats` computes them.
- When it joins, it gets a `card` frame for every session of its queues that
  has not closed (waiting, offered, connected, in wrap-up), oldest first, so a
  reloaded view is whole at once; help requests still open are on their cards.
- When a session of one of its queues changes (a `session.*` lifecycle event),
  it gets `{type: "card", conversation_id, card}` with the session's current
  card. Events that arrive together give one card per session.

Each node follows the whole `events` stream itself (XREAD BLOCK from the last
id it saw; no consumer group): it only pushes to its own sockets. It keeps the
window's events in memory (`EventWindow`), so a stats tick reads only the live
state, not the stream. While the node has no supervisor socket it reads
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import msgspec
from msgspec import UNSET

from ..background import Background, cancel_and_wait
from ..domain.errors import SwitchboardError
from ..domain.frames import AgentFigures, Card, CardChanged, Frame, QueueFigures, Stats
from ..domain.stats import DEFAULT_WINDOW_S, EventWindow, queue_figures
from ..store.clock import now_ms
from ..store.figures import Figures
from ..store.router import Router
from .event_history import EventHistory

log = logging.getLogger(__name__)

FEED_WINDOW_S = DEFAULT_WINDOW_S
MAX_BLOCK_MS = 1000
RETRY_S = 1.0


class SupervisorSocket(Protocol):
    agent_id: str

    def send(self, frame: Frame) -> None: ...


class SupervisorFeed(Background):
    def __init__(
        self,
        figures: Figures,
        history: EventHistory,
        router: Router,
        interval_s: float,
        window_s: int = FEED_WINDOW_S,
    ) -> None:
        self._figures = figures
        self._history = history
        self._router = router
        self._interval_ms = max(1, int(interval_s * 1000))
        self._window = EventWindow(window_s * 1000)
        self._loaded = False
        self._last_id = "0-0"
        self._sockets: dict[SupervisorSocket, frozenset[str]] = {}  # socket -> its queues
        # Sockets still owed their first cards. The feed's own task sends them, so
        # they are ordered with the cards of new events (a stale card never wins).
        self._joining: list[SupervisorSocket] = []
        self._wake = asyncio.Event()
        self._next_tick = 0
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ sockets

    def add(self, sock: SupervisorSocket, queues: list[str]) -> None:
        """A supervisor socket said hello; its first `stats` frame follows at once."""
        self._sockets[sock] = frozenset(queues)
        self._joining.append(sock)
        self._next_tick = 0
        self._wake.set()

    def remove(self, sock: SupervisorSocket) -> None:
        self._sockets.pop(sock, None)
        if sock in self._joining:
            self._joining.remove(sock)

    @property
    def socket_count(self) -> int:
        return len(self._sockets)

    # ------------------------------------------------------------ task

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="supervisor-feed")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)

    async def _run(self) -> None:
        outage = False
        while True:
            if not self._sockets:
                # Nobody to serve: forget the window, wait for a supervisor.
                self._loaded = False
                self._window.load([], 0)
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self.step()
                if outage:
                    log.info("supervisor feed resumed")
                outage = False
            except asyncio.CancelledError:
                raise
            except SwitchboardError as exc:
                if not outage:
                    log.warning("supervisor feed paused: %s", exc.message)
                outage = True
                self._loaded = False  # events may have been missed: load the window again
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("supervisor feed failed")
                self._loaded = False
                await asyncio.sleep(RETRY_S)

    async def step(self) -> None:
        """Loads the window if needed, reads new events (waiting until the next
        stats tick at most), pushes cards, and stats when a tick is due."""
        if not self._loaded:
            now = now_ms()
            recent = await self._history.recent_events(now - self._window.window_ms, self._window.max_events)
            self._window.load(recent.events, recent.complete_from_ms)
            self._last_id = recent.newest_id
            self._loaded = True
        await self.push_joining()
        wait_ms = min(MAX_BLOCK_MS, self._next_tick - now_ms())
        if wait_ms > 0:
            entries = await self._figures.follow(self._last_id, wait_ms)
            if entries:
                self._last_id = entries[-1][0]
                for _id, event in entries:
                    self._window.add(event)
                await self.push_cards([event for _id, event in entries])
        if now_ms() >= self._next_tick:
            self._next_tick = now_ms() + self._interval_ms
            await self.push_joining()  # a socket that joined during the wait: cards before its first stats
            await self.push_stats()

    # ------------------------------------------------------------ frames

    async def push_joining(self) -> None:
        """The open cards of its queues to every socket that joined since the last call."""
        while self._joining:
            sock = self._joining[0]
            queues = self._sockets.get(sock)
            if queues:
                for card in await self._router.open_session_cards(sorted(queues)):
                    sock.send(_card_frame(card))
            if sock in self._joining:  # it may have left meanwhile
                self._joining.remove(sock)

    async def push_cards(self, events: list[dict[str, Any]]) -> None:
        touched: dict[str, set[str]] = {}  # session id -> queues it was in or went to
        for event in events:
            sid = event.get("session_id")
            if not str(event.get("type", "")).startswith("session.") or not isinstance(sid, str):
                continue
            queues = touched.setdefault(sid, set())
            for field in ("queue", "from_queue"):
                if isinstance(event.get(field), str):
                    queues.add(event[field])
        watched = set().union(*self._sockets.values()) if self._sockets else set()
        wanted = [sid for sid, queues in touched.items() if queues & watched]
        if not wanted:
            return
        cards = {card["session_id"]: card for card in await self._router.session_cards(wanted)}
        for sid in wanted:
            card = cards.get(sid)
            if card is None:
                continue
            frame = _card_frame(card)
            for sock, its_queues in list(self._sockets.items()):
                if its_queues & touched[sid]:
                    sock.send(frame)

    async def push_stats(self) -> None:
        snapshot = await self._figures.snapshot()
        now = snapshot.now_ms
        self._window.trim(now)
        start, _truncated = self._window.span(now)
        # A supervisor's queues may have changed since its hello: follow its profile.
        profiles = {a.id: frozenset(a.queues) for a in snapshot.agents}
        for sock in list(self._sockets):
            if sock.agent_id in profiles and sock in self._sockets:
                self._sockets[sock] = profiles[sock.agent_id]
        watched = set().union(*self._sockets.values()) if self._sockets else set()
        queues = [q for q in snapshot.queues if q.id in watched]
        figures = {
            f["id"]: msgspec.convert(f, QueueFigures)
            for f in queue_figures(self._window.events, start, now, queues, snapshot.agents)
        }
        for sock, mine in list(self._sockets.items()):
            if sock in self._joining:
                continue  # joined while the snapshot was read: its cards come first, then the next tick's stats
            # the agents of its queues, each with its state, for the supervisor's board
            team = [
                AgentFigures(
                    id=a.id,
                    display_name=a.display_name,
                    state=a.state,
                    since=a.since,
                    sessions=a.held,
                    capacity=a.capacity,
                    queues=sorted(mine & set(a.queues)),
                    reason=a.reason or UNSET,
                )
                for a in snapshot.agents
                if mine & set(a.queues)
            ]
            sock.send(
                Stats(
                    queues=[figures[q] for q in sorted(mine) if q in figures],
                    agents=team,
                    window_s=self._window.window_ms // 1000,
                    ts=now,
                )
            )


def _card_frame(card: dict[str, Any]) -> CardChanged:
    return CardChanged(conversation_id=card["conversation_id"], card=msgspec.convert(card, Card))
