"""Assembles one gateway node: Redis client, router, hub, sweeper, routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ..collector import Collector
from ..domain.errors import SwitchboardError
from ..settings import Settings
from ..store.canned import CannedResponses
from ..store.connection import connect
from ..store.directory import Directory
from ..store.engine import Timeouts
from ..store.errors import STORE_ERRORS
from ..store.figures import Figures
from ..store.keys import Keys
from ..store.router import Router
from ..store.scripts import remove_other_versions
from ..store.search import SearchIndex
from ..store.throttle import HandshakeCounter
from ..store.visitors import Visitors
from ..store.webhooks import WebhookStore
from ..timers import Sweeper
from .agent import AgentSocket
from .auth import Signer
from .customer import CustomerSocket
from .http import exception_handlers
from .http import routes as http_routes
from .hub import Hub
from .indexing import Indexer
from .limits import Gate, HttpRate
from .metrics import Metrics
from .services import Services
from .static import static_routes, widget_dir
from .supervision import SupervisorFeed
from .webhooks import WebhookDispatcher

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    if not settings.secret:
        raise ValueError("settings need a secret (see Settings.with_secrets)")
    redis = connect(settings)
    keys = Keys(settings.key_prefix)
    router = Router(redis, keys, Timeouts(
        inactivity_ms=int(settings.inactivity_timeout_s * 1000),
        grace_ms=int(settings.disconnect_grace_s * 1000),
    ))
    sockets: set[Any] = set()
    search = SearchIndex(redis, keys, router)
    figures = Figures(redis, keys)
    webhooks = WebhookStore(redis, keys)

    async def register_sockets_again() -> None:
        for client in list(sockets):
            await client.register()

    services = Services(
        settings=settings, redis=redis, router=router, directory=Directory(redis, keys, router),
        hub=Hub(redis, keys, settings.node_id), signer=Signer(settings.secret),
        sweeper=Sweeper(router, settings.timer_tick_s, settings.node_id, settings.node_ttl_s, register_sockets_again),
        canned=CannedResponses(redis, keys), search=search, indexer=Indexer(search), figures=figures,
        supervision=SupervisorFeed(figures, router, settings.stats_interval_s),
        visitors=Visitors(redis, keys, router, settings.web_session_idle_s),
        webhooks=webhooks, dispatcher=WebhookDispatcher(webhooks, settings),
        sockets=sockets,
    )
    services.metrics = Metrics(services)
    services.collector = Collector(settings.gc_freeze_interval_s, settings.gc_full_interval_s)
    services.gate = Gate(settings, HandshakeCounter(redis, keys).count)
    return services


def create_app(settings: Settings) -> Starlette:
    services = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with contextlib.suppress(SwitchboardError):  # the store may come later; see _lib.lua
            await services.router.ensure_id_key()
        try:
            if upgraded := await services.router.upgrade():
                log.info("%d conversations moved to the current data layout", upgraded)
        except SwitchboardError as exc:
            log.warning("data not upgraded (%s); the next start tries again", exc.message)
        try:
            if removed := await remove_other_versions(services.redis):
                log.info("Lua libraries of other versions removed: %s", ", ".join(removed))
        except STORE_ERRORS as exc:
            log.warning("Lua libraries of other versions not removed (%s); the next start tries again", exc)
        await services.hub.start()
        services.sweeper.start()
        services.supervision.start()
        services.dispatcher.start()
        services.collector.start()
        try:
            yield
        finally:
            await services.collector.stop()
            await services.dispatcher.stop()
            await services.supervision.stop()
            await services.sweeper.stop()
            with contextlib.suppress(SwitchboardError):
                await services.router.retire(settings.node_id)
            await services.hub.stop()
            await services.redis.aclose()

    async def customer_socket(websocket: WebSocket) -> None:
        await CustomerSocket(websocket, services).run()

    async def agent_socket(websocket: WebSocket) -> None:
        await AgentSocket(websocket, services).run()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws/customer", customer_socket),
            WebSocketRoute("/ws/agent", agent_socket),
            *http_routes,
            *static_routes(widget_dir(settings.widget_dir)),
        ],
        lifespan=lifespan,
        exception_handlers=exception_handlers,
        middleware=[Middleware(HttpRate, rate=settings.http_requests_per_s, burst=settings.http_burst)],
    )
    app.state.services = services
    return app
