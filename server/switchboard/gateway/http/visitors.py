"""Visitors and invitations: `/api/v1/visitors` and `/api/v1/invite-rules`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...domain import invites, search
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin, requires_admin_or_agent
from .principals import actor


@requires_admin
async def put_invite_rule(request: Request) -> Response:
    rid = path_id(request, "invite rule")
    body = invites.decode_rule(await read_body(request))
    view, created = await services_of(request).visitors.put_rule(rid, body)
    return JSON(view, status_code=201 if created else 200)


@requires_admin
async def list_invite_rules(request: Request) -> Response:
    return JSON({"invite_rules": await services_of(request).visitors.rules()})


@requires_admin
async def get_invite_rule(request: Request) -> Response:
    rule = await services_of(request).visitors.rule(path_id(request, "invite rule"))
    return JSON(found(rule, "no such invite rule"))


@requires_admin
async def delete_invite_rule(request: Request) -> Response:
    found(await services_of(request).visitors.delete_rule(path_id(request, "invite rule")), "no such invite rule")
    return Response(status_code=204)


@requires_admin_or_agent
async def list_visitors(request: Request) -> Response:
    params = request.query_params
    if params.get("online", "true") != "true":
        raise SwitchboardError(ErrorCode.BAD_REQUEST, "only online visitors are listed: online=true")
    cursor = check_id("cursor", params["cursor"]) if params.get("cursor") else ""
    limit = search.parse_limit(params.get("limit"))
    return JSON(await services_of(request).router.online_visitors(cursor, limit))


@requires_admin
async def get_visitor(request: Request) -> Response:
    visitor = await services_of(request).router.visitor(path_id(request, "visitor"))
    return JSON(found(visitor, "no such visitor"))


@requires_admin_or_agent
async def invite_visitor(request: Request) -> Response:
    """By the admin, or by an agent of the queue (the store checks membership: 403)."""
    vid = path_id(request, "visitor")
    body = invites.decode_invite(await read_body(request))
    sent = await services_of(request).router.invite(vid, body.queue, body.text, request.state.agent or "")
    return JSON(sent, status_code=201)


@requires_admin
async def erase_visitor(request: Request) -> Response:
    """GDPR article 17: the visitor is erased everywhere; 204, also when called again."""
    await services_of(request).privacy.erase_visitor(path_id(request, "visitor"), actor(request))
    return Response(status_code=204)


@requires_admin
async def export_visitor(request: Request) -> Response:
    """GDPR articles 15 and 20: everything kept about the visitor, as one JSON document."""
    vid = path_id(request, "visitor")
    exported = found(
        await services_of(request).privacy.export_visitor(vid, actor(request)), "nothing is kept about this visitor"
    )
    return JSON(exported, headers={"Content-Disposition": f'attachment; filename="visitor-{vid}.json"'})


routes = [
    Route("/api/v1/invite-rules", list_invite_rules),
    Route("/api/v1/invite-rules/{id}", put_invite_rule, methods=["PUT"]),
    Route("/api/v1/invite-rules/{id}", get_invite_rule, methods=["GET"]),
    Route("/api/v1/invite-rules/{id}", delete_invite_rule, methods=["DELETE"]),
    Route("/api/v1/visitors", list_visitors),
    Route("/api/v1/visitors/{id}", get_visitor, methods=["GET"]),
    Route("/api/v1/visitors/{id}", erase_visitor, methods=["DELETE"]),
    Route("/api/v1/visitors/{id}/export", export_visitor),
    Route("/api/v1/visitors/{id}/invite", invite_visitor, methods=["POST"]),
]
