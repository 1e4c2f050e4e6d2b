"""Conversations: `/api/v1/conversations`, search and the whole history of one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import search
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...store.clock import now_ms
from .common import JSON, found, path_id, services_of
from .guards import requires_admin_or_agent


@requires_admin_or_agent
async def get_conversation(request: Request) -> Response:
    """The whole conversation. An agent reads only one it took part in."""
    s = services_of(request)
    cid = path_id(request, "conversation")
    aid = request.state.agent
    if aid is not None and not await s.search.took_part(aid, cid):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
    conversation = await s.directory.conversation(cid)
    if conversation is None:  # it left Redis after the live window: PostgreSQL keeps it
        conversation = await s.record.conversation(cid, now_ms())
    return JSON(found(conversation, "no such conversation"))


@requires_admin_or_agent
async def list_conversations(request: Request) -> Response:
    """Search. With an agent's token, among the conversations that agent took part in."""
    params = request.query_params
    # An empty parameter counts as absent, as a search form sends them.
    q = params.get("q", "")
    words = search.query_words(q) if q.strip() else []
    state = search.parse_state(params["state"]) if params.get("state") else None
    queue = check_id("queue", params["queue"]) if params.get("queue") else None
    cursor = search.decode_cursor(params["cursor"]) if params.get("cursor") else None
    limit = search.parse_limit(params.get("limit"))
    index = services_of(request).search
    if request.state.agent is not None:
        return JSON(await index.page_for_agent(request.state.agent, words, state, queue, limit, cursor))
    return JSON(await index.page(words, state, queue, limit, cursor))


routes = [
    Route("/api/v1/conversations", list_conversations),
    Route("/api/v1/conversations/{id}", get_conversation),
]
