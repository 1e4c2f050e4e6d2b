"""Assembles one gateway node: its services (gateway/services.py), their start and stop, the routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ..domain.errors import SwitchboardError
from ..settings import Settings
from ..store.errors import STORE_ERRORS
from ..store.router import Router
from ..store.scripts import remove_other_versions
from . import api_reference
from .agent import AgentSocket
from .customer import CustomerSocket
from .http import exception_handlers
from .http import routes as http_routes
from .http.attachments import UploadCors
from .http.oidc import pages as single_sign_on_pages
from .limits import HttpRate
from .services import build_services
from .static import static_routes, widget_dir

log = logging.getLogger(__name__)


async def prepare_store(router: Router, redis: Redis) -> None:
    """What a node does to the store before it serves: each step is retried by the next start if it fails."""
    with contextlib.suppress(
        SwitchboardError
    ):  # the store may come later; see new_id in store/lua/includes/routing.lua
        await router.ensure_id_key()
    try:
        if upgraded := await router.upgrade():
            log.info("%d conversations moved to the current data layout", upgraded)
    except SwitchboardError as exc:
        log.warning("data not upgraded (%s); the next start tries again", exc.message)
    try:
        if removed := await remove_other_versions(redis):
            log.info("Lua libraries of other versions removed: %s", ", ".join(removed))
    except STORE_ERRORS as exc:
        log.warning("Lua libraries of other versions not removed (%s); the next start tries again", exc)


@contextlib.asynccontextmanager
async def retired_at_stop(router: Router, node_id: str) -> AsyncIterator[None]:
    """Hands the node's presence and deadlines to the others when it stops (if the store is there)."""
    try:
        yield
    finally:
        with contextlib.suppress(SwitchboardError):
            await router.retire(node_id)


def create_app(settings: Settings) -> Starlette:
    services = build_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Entered in order; each part stops in the reverse order when the stack unwinds.
        async with contextlib.AsyncExitStack() as running:
            running.push_async_callback(services.redis.aclose)
            await running.enter_async_context(services.database)
            await prepare_store(services.router, services.redis)
            await running.enter_async_context(services.hub)
            await running.enter_async_context(retired_at_stop(services.router, settings.node_id))
            await running.enter_async_context(services.sweeper)
            await running.enter_async_context(services.supervision)
            await running.enter_async_context(services.dispatcher)
            await running.enter_async_context(services.collector)
            await running.enter_async_context(services.archiver)
            await running.enter_async_context(services.rollups)
            await running.enter_async_context(services.audit_backlog)
            yield

    async def customer_socket(websocket: WebSocket) -> None:
        await CustomerSocket(websocket, services).run()

    async def agent_socket(websocket: WebSocket) -> None:
        await AgentSocket(websocket, services).run()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws/customer", customer_socket),
            WebSocketRoute("/ws/agent", agent_socket),
            *http_routes,
            *single_sign_on_pages,
            *api_reference.routes,
            *static_routes(widget_dir(settings.widget_dir)),
        ],
        lifespan=lifespan,
        exception_handlers=exception_handlers,
        middleware=[
            Middleware(UploadCors),
            Middleware(HttpRate, rate=settings.http_requests_per_s, burst=settings.http_burst),
        ],
    )
    app.state.services = services
    return app
