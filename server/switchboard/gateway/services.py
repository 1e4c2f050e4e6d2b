"""What one gateway node runs: its clients, stores and background parts, passed to the sockets and handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from ..collector import Collector
from ..settings import Settings
from ..store.canned import CannedResponses
from ..store.directory import Directory
from ..store.figures import Figures
from ..store.router import Router
from ..store.search import SearchIndex
from ..store.visitors import Visitors
from ..store.webhooks import WebhookStore
from ..timers import Sweeper
from .auth import Signer
from .hub import Hub
from .indexing import Indexer
from .supervision import SupervisorFeed
from .webhooks import WebhookDispatcher


@dataclass
class Services:
    settings: Settings
    redis: Redis
    router: Router
    directory: Directory
    hub: Hub
    signer: Signer
    sweeper: Sweeper
    canned: CannedResponses
    search: SearchIndex
    indexer: Indexer
    visitors: Visitors
    figures: Figures
    supervision: SupervisorFeed
    webhooks: WebhookStore
    dispatcher: WebhookDispatcher
    sockets: set[Any] = field(default_factory=set)
    gate: Any = None  # admission of handshakes (gateway/limits.py)
    metrics: Any = None
    collector: Collector | None = None
    event_streams: int = 0  # open /api/v1/events/stream responses on this node
