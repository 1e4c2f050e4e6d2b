"""The HTTP API under /api/v1, plus health and metrics."""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..domain import canned, invites, search, stats, webhooks
from ..domain.config import AgentConfig, QueueConfig, check_id, decode_config
from ..domain.errors import HTTP_STATUS, ErrorCode, SwitchboardError
from ..domain.states import Role

if TYPE_CHECKING:
    from .services import Services

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
MAX_BODY = 256 * 1024


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def error_response(exc: SwitchboardError) -> Response:
    return JSON({"error": {"code": exc.code.value, "message": exc.message}}, status_code=HTTP_STATUS[exc.code])


def services_of(request: Request) -> Services:
    return request.app.state.services


def _is_admin(services: Services, authorization: str) -> bool:
    expected = services.settings.admin_token or ""
    return bool(expected) and hmac.compare_digest(authorization.encode(), f"Bearer {expected}".encode())


async def _agent_of(services: Services, authorization: str) -> str | None:
    """The agent of a valid agent token, checked as the agent socket checks it at `hello`:
    signed, unexpired, and of the agent's current token version (deleting the agent revokes it)."""
    token = authorization.removeprefix("Bearer ")
    if token == authorization or not token.isascii():  # non-ASCII cannot be ours
        return None
    verified = services.signer.verify_agent(token, time.time())
    if verified is None:
        return None
    aid, version = verified
    return aid if await services.directory.token_version(aid) == version else None


def _guarded(agents: Literal["refused", "forbidden", "allowed"]) -> Callable[[Handler], Handler]:
    """Requires the admin token, or for `allowed` an agent's token too; with
    `forbidden` an agent's token is told it may not (403) rather than that it is not
    valid (401). The handler finds the agent in `request.state.agent` (None for the
    admin). Turns refusals into the contract's error shape."""

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: Request) -> Response:
            try:
                services = services_of(request)
                given = request.headers.get("authorization", "")
                request.state.agent = None
                if not _is_admin(services, given):
                    request.state.agent = None if agents == "refused" else await _agent_of(services, given)
                    if request.state.agent is None:
                        wanted = "admin or agent token" if agents == "allowed" else "admin token"
                        raise SwitchboardError(ErrorCode.UNAUTHORIZED, f"a valid {wanted} is required")
                    if agents == "forbidden":
                        raise SwitchboardError(ErrorCode.FORBIDDEN, "this needs the admin token; agents may only read")
                return await handler(request)
            except SwitchboardError as exc:
                return error_response(exc)

        return wrapped

    return decorate


admin = _guarded("refused")
readable_by_agents = _guarded("allowed")
closed_to_agents = _guarded("forbidden")


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise SwitchboardError(ErrorCode.TOO_LONG, "body too large")
    return body


def _found(value: T, missing: str) -> T:
    """`value`, unless the store found nothing (None or False): then 404 `missing`."""
    if value is None or value is False:
        raise SwitchboardError(ErrorCode.NOT_FOUND, missing)
    return value


def _path_id(request: Request, kind: str) -> str:
    return check_id(kind, request.path_params["id"])


# ---------------------------------------------------------------- queues


@admin
async def put_queue(request: Request) -> Response:
    s = services_of(request)
    qid = _path_id(request, "queue")
    config = decode_config(await _body(request), QueueConfig)
    await s.router.put_queue(qid, msgspec.json.encode(config))
    return JSON((await s.router.queue_views([qid]))[0])


@admin
async def list_queues(request: Request) -> Response:
    s = services_of(request)
    return JSON({"queues": await s.router.queue_views(await s.directory.queue_ids())})


@admin
async def get_queue(request: Request) -> Response:
    views = await services_of(request).router.queue_views([_path_id(request, "queue")])
    if not views:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
    return JSON(views[0])


@admin
async def delete_queue(request: Request) -> Response:
    await services_of(request).router.delete_queue(_path_id(request, "queue"))
    return Response(status_code=204)


@readable_by_agents
async def get_wrap_up_codes(request: Request) -> Response:
    """The queue's wrap-up codes, for the desk's wrap-up dialog: the admin, or an agent
    that is a member of the queue or holds a session of it (a warm transfer can hand an
    agent a session of a queue it is not a member of)."""
    s = services_of(request)
    qid = _path_id(request, "queue")
    aid = request.state.agent
    if aid is not None:
        profile = await s.directory.agent_profile(aid) or {}
        if qid not in (profile.get("queues") or []) and qid not in await s.directory.held_queues(aid):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
    config = await s.directory.queue_config(qid)
    if config is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
    return JSON({"queue": {"id": qid, "name": config.name}, "wrap_up_codes": config.wrap_up_codes})


@_guarded("allowed")
async def get_transfer_targets(request: Request) -> Response:
    """The desk's transfer and conference pickers: queues, and the other agents with
    whether each can take a conversation now. For the admin every agent is listed."""
    return JSON(await services_of(request).router.transfer_targets(request.state.agent or ""))


# ---------------------------------------------------------------- agents


@admin
async def put_agent(request: Request) -> Response:
    s = services_of(request)
    aid = _path_id(request, "agent")
    config = decode_config(await _body(request), AgentConfig)
    known = set(await s.directory.queue_ids())
    unknown = [q for q in config.queues if q not in known]
    if unknown:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"unknown queue: {', '.join(unknown)}")
    created = await s.router.put_agent(aid, msgspec.json.encode(config))
    return JSON((await s.directory.agents([aid]))[0], status_code=201 if created else 200)


@admin
async def list_agents(request: Request) -> Response:
    s = services_of(request)
    return JSON({"agents": await s.directory.agents(await s.directory.agent_ids())})


@admin
async def get_agent(request: Request) -> Response:
    views = await services_of(request).directory.agents([_path_id(request, "agent")])
    if not views:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such agent")
    return JSON(views[0])


@admin
async def delete_agent(request: Request) -> Response:
    await services_of(request).router.delete_agent(_path_id(request, "agent"))
    return Response(status_code=204)


@admin
async def issue_agent_token(request: Request) -> Response:
    s = services_of(request)
    aid = _path_id(request, "agent")
    version = await s.directory.token_version(aid)
    if version is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such agent")
    expires_at = int(time.time() + s.settings.agent_token_ttl_s)
    return JSON({"token": s.signer.agent_token(aid, version, expires_at), "expires_at": expires_at * 1000})


@admin
async def revoke_agent_tokens(request: Request) -> Response:
    """Every token issued for the agent so far stops working, and its open sockets
    (on every node) close with 4401; a new token can be issued at once."""
    await services_of(request).router.revoke_tokens(_path_id(request, "agent"))
    return Response(status_code=204)


# ---------------------------------------------------------------- conversations and events


@readable_by_agents
async def get_conversation(request: Request) -> Response:
    """The whole conversation. An agent reads only one it took part in."""
    s = services_of(request)
    cid = _path_id(request, "conversation")
    aid = request.state.agent
    if aid is not None and not await s.search.took_part(aid, cid):
        raise SwitchboardError(ErrorCode.FORBIDDEN, "you did not take part in this conversation")
    return JSON(_found(await s.directory.conversation(cid), "no such conversation"))


@readable_by_agents
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


@admin
async def list_events(request: Request) -> Response:
    after = request.query_params.get("after") or None
    if after is not None and not STREAM_ID.match(after):
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "after must be an event id such as 1700000000000-0")
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "limit must be an integer") from None
    if not 1 <= limit <= 1000:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "limit must be between 1 and 1000")
    return JSON(await services_of(request).directory.events(after, limit))


# ---------------------------------------------------------------- canned responses


@closed_to_agents
async def put_canned(request: Request) -> Response:
    rid = _path_id(request, "canned response")
    body = canned.decode_body(await _body(request))
    view, created = await services_of(request).canned.put(rid, body)
    return JSON(view, status_code=201 if created else 200)


@readable_by_agents
async def list_canned(request: Request) -> Response:
    words = canned.query_words(request.query_params.get("q", ""))
    return JSON({"canned_responses": await services_of(request).canned.search(words)})


@readable_by_agents
async def get_canned(request: Request) -> Response:
    found = await services_of(request).canned.get(_path_id(request, "canned response"))
    return JSON(_found(found, "no such canned response"))


@closed_to_agents
async def delete_canned(request: Request) -> Response:
    _found(await services_of(request).canned.delete(_path_id(request, "canned response")), "no such canned response")
    return Response(status_code=204)


# ---------------------------------------------------------------- visitors and invitations


@admin
async def put_invite_rule(request: Request) -> Response:
    rid = _path_id(request, "invite rule")
    body = invites.decode_rule(await _body(request))
    view, created = await services_of(request).visitors.put_rule(rid, body)
    return JSON(view, status_code=201 if created else 200)


@admin
async def list_invite_rules(request: Request) -> Response:
    return JSON({"invite_rules": await services_of(request).visitors.rules()})


@admin
async def get_invite_rule(request: Request) -> Response:
    found = await services_of(request).visitors.rule(_path_id(request, "invite rule"))
    return JSON(_found(found, "no such invite rule"))


@admin
async def delete_invite_rule(request: Request) -> Response:
    _found(await services_of(request).visitors.delete_rule(_path_id(request, "invite rule")), "no such invite rule")
    return Response(status_code=204)


@readable_by_agents
async def list_visitors(request: Request) -> Response:
    params = request.query_params
    if params.get("online", "true") != "true":
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "only online visitors are listed: online=true")
    cursor = check_id("cursor", params["cursor"]) if params.get("cursor") else ""
    limit = search.parse_limit(params.get("limit"))
    return JSON(await services_of(request).router.online_visitors(cursor, limit))


@admin
async def get_visitor(request: Request) -> Response:
    found = await services_of(request).router.visitor(_path_id(request, "visitor"))
    return JSON(_found(found, "no such visitor"))


@_guarded("allowed")
async def invite_visitor(request: Request) -> Response:
    """By the admin, or by an agent of the queue (the store checks membership: 403)."""
    vid = _path_id(request, "visitor")
    body = invites.decode_invite(await _body(request))
    sent = await services_of(request).router.invite(vid, body.queue, body.text, request.state.agent or "")
    return JSON(sent, status_code=201)


# ---------------------------------------------------------------- statistics


async def _stats_scope(services: Services, authorization: str) -> frozenset[str] | None:
    """The queues a caller may see: all (None) with the admin token, its own with a
    supervisor's agent token."""
    if _is_admin(services, authorization):
        return None
    aid = await _agent_of(services, authorization)
    if aid is None:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "a valid admin or supervisor token is required")
    profile = await services.directory.agent_profile(aid) or {}
    if profile.get("role") != Role.SUPERVISOR:
        raise SwitchboardError(ErrorCode.FORBIDDEN, "only supervisors and the admin read statistics")
    return frozenset(profile.get("queues") or [])


async def get_stats(request: Request) -> Response:
    try:
        s = services_of(request)
        scope = await _stats_scope(s, request.headers.get("authorization", ""))
        params = request.query_params
        window_s = stats.parse_window(params.get("window_s"))
        only = check_id("queue", params["queue"]) if params.get("queue") else None
        if only is not None and scope is not None and only not in scope:
            raise SwitchboardError(ErrorCode.FORBIDDEN, "the queue is not one of your queues")
        snapshot = await s.figures.snapshot()
        queues = [q for q in snapshot.queues if (scope is None or q.id in scope) and (only is None or q.id == only)]
        if only is not None and not queues:
            raise SwitchboardError(ErrorCode.NOT_FOUND, "no such queue")
        recent = await s.figures.recent_events(snapshot.now_ms - window_s * 1000)
        figures = stats.queue_figures(recent.events, recent.complete_from_ms, snapshot.now_ms, queues, snapshot.agents)
        return JSON({
            "window_s": window_s, "from": recent.complete_from_ms, "to": snapshot.now_ms,
            "truncated": recent.truncated, "events_read": len(recent.events), "queues": figures,
        })
    except SwitchboardError as exc:
        return error_response(exc)


# ---------------------------------------------------------------- webhooks


def _webhook_id(request: Request) -> str:
    return check_id("webhook", request.path_params["id"])


@admin
async def create_webhook(request: Request) -> Response:
    body = webhooks.decode_body(await _body(request))
    return JSON(await services_of(request).webhooks.create(body), status_code=201)


@admin
async def list_webhooks(request: Request) -> Response:
    return JSON({"webhooks": await services_of(request).webhooks.views()})


@admin
async def get_webhook(request: Request) -> Response:
    return JSON(_found(await services_of(request).webhooks.get(_webhook_id(request)), "no such webhook"))


@admin
async def delete_webhook(request: Request) -> Response:
    _found(await services_of(request).webhooks.delete(_webhook_id(request)), "no such webhook")
    return Response(status_code=204)


@admin
async def list_dead_letters(request: Request) -> Response:
    letters = await services_of(request).webhooks.dead_letters(_webhook_id(request))
    if letters is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such webhook")
    return JSON({"dead_letters": letters})


@admin
async def replay_dead_letters(request: Request) -> Response:
    ids = webhooks.decode_replay(await _body(request))
    count = await services_of(request).webhooks.replay(_webhook_id(request), ids, int(time.time() * 1000))
    if count is None:
        raise SwitchboardError(ErrorCode.NOT_FOUND, "no such webhook")
    return JSON({"replayed": count})


# ---------------------------------------------------------------- health


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the contract's error shape too."""
    status = getattr(exc, "status_code", 500)
    code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.BAD_REQUEST}.get(status, ErrorCode.INTERNAL)
    return JSON({"error": {"code": code.value, "message": str(getattr(exc, "detail", "error"))}}, status_code=status)


async def healthz(request: Request) -> Response:
    return JSON({"status": "ok"})


async def readyz(request: Request) -> Response:
    services = services_of(request)
    try:
        await services.redis.ping()
    except Exception as exc:  # any failure to reach the store means not ready
        return JSON({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    if not services.hub.subscribed:  # pushes would not reach new sockets yet
        return JSON({"status": "unavailable", "error": "pub/sub not subscribed"}, status_code=503)
    return JSON({"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(await services_of(request).metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
    Route("/api/v1/queues", list_queues),
    Route("/api/v1/queues/{id}", put_queue, methods=["PUT"]),
    Route("/api/v1/queues/{id}", get_queue, methods=["GET"]),
    Route("/api/v1/queues/{id}", delete_queue, methods=["DELETE"]),
    Route("/api/v1/queues/{id}/wrap-up-codes", get_wrap_up_codes, methods=["GET"]),
    Route("/api/v1/transfer-targets", get_transfer_targets),
    Route("/api/v1/agents", list_agents),
    Route("/api/v1/agents/{id}", put_agent, methods=["PUT"]),
    Route("/api/v1/agents/{id}", get_agent, methods=["GET"]),
    Route("/api/v1/agents/{id}", delete_agent, methods=["DELETE"]),
    Route("/api/v1/agents/{id}/token", issue_agent_token, methods=["POST"]),
    Route("/api/v1/agents/{id}/token", revoke_agent_tokens, methods=["DELETE"]),
    Route("/api/v1/conversations", list_conversations),
    Route("/api/v1/conversations/{id}", get_conversation),
    Route("/api/v1/events", list_events),
    Route("/api/v1/stats", get_stats),
    Route("/api/v1/canned-responses", list_canned),
    Route("/api/v1/canned-responses/{id}", put_canned, methods=["PUT"]),
    Route("/api/v1/canned-responses/{id}", get_canned, methods=["GET"]),
    Route("/api/v1/canned-responses/{id}", delete_canned, methods=["DELETE"]),
    Route("/api/v1/invite-rules", list_invite_rules),
    Route("/api/v1/invite-rules/{id}", put_invite_rule, methods=["PUT"]),
    Route("/api/v1/invite-rules/{id}", get_invite_rule, methods=["GET"]),
    Route("/api/v1/invite-rules/{id}", delete_invite_rule, methods=["DELETE"]),
    Route("/api/v1/visitors", list_visitors),
    Route("/api/v1/visitors/{id}", get_visitor),
    Route("/api/v1/visitors/{id}/invite", invite_visitor, methods=["POST"]),
    Route("/api/v1/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/v1/webhooks", create_webhook, methods=["POST"]),
    Route("/api/v1/webhooks/{id}", get_webhook, methods=["GET"]),
    Route("/api/v1/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    Route("/api/v1/webhooks/{id}/dead-letters", list_dead_letters, methods=["GET"]),
    Route("/api/v1/webhooks/{id}/dead-letters/replay", replay_dead_letters, methods=["POST"]),
]
