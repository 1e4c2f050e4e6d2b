"""Visitors and invitations: `/api/v1/visitors` and `/api/v1/invite-rules`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from ...domain import invites, search
from ...domain.config import check_id
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.frames.outgoing import Card, PageVisit
from .common import JSON, found, path_id, read_body, services_of
from .conversations import ConversationHistory
from .guards import requires_admin, requires_admin_or_agent
from .openapi import ApiRoute, Operation, Param, QueryId
from .principals import actor


class InviteRuleView(invites.InviteRuleBody, kw_only=True):
    """An invitation rule."""

    id: str
    updated_at: int


class InviteRuleList(msgspec.Struct, forbid_unknown_fields=True):
    invite_rules: list[InviteRuleView]


class CurrentPage(msgspec.Struct, forbid_unknown_fields=True):
    """The visitor's latest page view; `since` is when it came to that page."""

    url: str
    since: int
    title: str | UnsetType = UNSET


class WebSessionRef(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    started_at: int


class WebSession(WebSessionRef, kw_only=True):
    """A visit to the website: its page views, from its first to its latest."""

    last_seen_at: int
    pages: int
    first_url: str
    last_url: str
    journey: list[PageVisit]


class OnlineVisitor(msgspec.Struct, forbid_unknown_fields=True):
    visitor_id: str
    online: bool
    page: CurrentPage | None
    web_session: WebSessionRef | None
    #: its open conversation
    conversation_id: str | None


class VisitorPage(msgspec.Struct, forbid_unknown_fields=True):
    """A page of the online visitors, by id."""

    visitors: list[OnlineVisitor]
    next: Annotated[str | None, msgspec.Meta(description="`cursor` of the next page; null on the last")]


class Visitor(msgspec.Struct, forbid_unknown_fields=True):
    """A visitor, its current web session and its conversations (their current cards, newest first)."""

    visitor_id: str
    online: bool
    page: CurrentPage | None
    web_session: WebSession | None
    conversation_id: str | None
    #: its first `hello`
    created_at: int
    conversations: list[Card]


class InviteSent(msgspec.Struct, forbid_unknown_fields=True):
    """The invitation, sent to the visitor's sockets."""

    invite_id: str
    visitor_id: str
    queue: str
    text: str
    sent_at: int
    expires_at: int


class VisitorExport(msgspec.Struct):
    """Everything kept about the visitor, live or archived (GDPR articles 15 and 20)."""

    visitor: dict[str, Any]
    conversations: list[ConversationHistory]
    web_sessions: list[dict[str, Any]]
    page_views: list[dict[str, Any]]
    #: the files of its conversations: id, conversation_id, uploaded_by, name, type, size, created_at, content_base64
    attachments: list[dict[str, Any]] = []


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


NO_SUCH_RULE = {400: "a bad id", 404: "no such invite rule"}

routes = [
    ApiRoute(
        "/api/v1/invite-rules", list_invite_rules, "GET", Operation("List the invitation rules", {200: InviteRuleList})
    ),
    ApiRoute(
        "/api/v1/invite-rules/{id}",
        put_invite_rule,
        "PUT",
        Operation(
            "Create or replace an invitation rule",
            {200: InviteRuleView, 201: InviteRuleView},
            request=invites.InviteRuleBody,
            errors={400: "a bad id or body, or a queue that does not exist", 409: "as many rules as may be"},
            tag="visitors",
        ),
    ),
    ApiRoute(
        "/api/v1/invite-rules/{id}",
        get_invite_rule,
        "GET",
        Operation("Read an invitation rule", {200: InviteRuleView}, errors=NO_SUCH_RULE, tag="visitors"),
    ),
    ApiRoute(
        "/api/v1/invite-rules/{id}",
        delete_invite_rule,
        "DELETE",
        Operation("Delete an invitation rule", {204: None}, errors=NO_SUCH_RULE, tag="visitors"),
    ),
    ApiRoute(
        "/api/v1/visitors",
        list_visitors,
        "GET",
        Operation(
            "List the online visitors",
            {200: VisitorPage},
            params=[
                Param("online", Literal["true"], "only online visitors are listed"),
                Param("cursor", QueryId, "the `next` of the previous page"),
                Param("limit", Annotated[int, msgspec.Meta(ge=1, le=search.MAX_LIMIT)], "visitors a page"),
            ],
            errors={400: "a bad parameter"},
        ),
    ),
    ApiRoute(
        "/api/v1/visitors/{id}",
        get_visitor,
        "GET",
        Operation("Read a visitor", {200: Visitor}, errors={400: "a bad id", 404: "no such visitor"}),
    ),
    ApiRoute(
        "/api/v1/visitors/{id}",
        erase_visitor,
        "DELETE",
        Operation("Erase a visitor everywhere", {204: None}, errors={400: "a bad id"}),
    ),
    ApiRoute(
        "/api/v1/visitors/{id}/export",
        export_visitor,
        "GET",
        Operation(
            "Export everything kept about a visitor",
            {200: VisitorExport},
            errors={400: "a bad id", 404: "nothing is kept about this visitor"},
        ),
    ),
    ApiRoute(
        "/api/v1/visitors/{id}/invite",
        invite_visitor,
        "POST",
        Operation(
            "Invite an online visitor to chat",
            {201: InviteSent},
            request=invites.InviteBody,
            errors={
                400: "a bad id or body, or a queue that does not exist",
                403: "an agent that is not a member of the queue",
                404: "no such visitor",
                409: "the visitor is not online, or already has an open chat",
            },
        ),
    ),
]
