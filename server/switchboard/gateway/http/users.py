"""Users: `/api/v1/users`, the people who sign in, and their roles.

An agent or supervisor user is the agent of the same id: creating one creates
its routing profile (`/api/v1/agents/{id}`) when there is none, and its role
(and a supervisor's queues) are kept in that profile, which is what the sockets
enforce. Its languages, skills and capacity stay the profile's. Disabling or
deleting a user ends its sessions and revokes its agent tokens, which closes its
open sockets with 4401 on every node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from ...domain.accounts import NewUser, UserChange, UserPage, UserView
from ...domain.config import AgentConfig, check_id, decode_config
from ...domain.errors import ErrorCode, SwitchboardError
from ...domain.parameters import bounded_int
from ...domain.states import Role
from ..auth import new_id
from .common import JSON, found, path_id, read_body, services_of
from .guards import requires_admin
from .openapi import ApiRoute, Operation, Param, QueryId

MAX_PAGE = 200

if TYPE_CHECKING:
    from ...record.accounts import User
    from ..services import Services


async def user_views(services: Services, users: list[User]) -> list[UserView]:
    """The users as the API shows them; an agent's or supervisor's queues are its live profile's."""
    profiles = {view["id"]: view for view in await services.directory.agents([u.id for u in users if u.role.is_agent])}
    return [user.view(list(profiles[user.id].get("queues") or []) if user.id in profiles else None) for user in users]


async def user_view(services: Services, user: User) -> UserView:
    return (await user_views(services, [user]))[0]


async def _check_queues(services: Services, queues: list[str]) -> None:
    known = set(await services.directory.queue_ids())
    unknown = [q for q in queues if q not in known]
    if unknown:
        raise SwitchboardError(ErrorCode.BAD_REQUEST, f"unknown queue: {', '.join(unknown)}")


async def sync_profile(services: Services, user: User, queues_given: bool) -> None:
    """The agent profile of an agent or supervisor user: made when missing; else its role
    follows the user's, and a supervisor's queues follow the user's when they were given."""
    profile = await services.directory.agent_profile(user.id)
    role = Role(user.role.value)
    if profile is None:
        config = AgentConfig(display_name=user.name, role=role, languages=[], queues=user.queues)
    else:
        config = msgspec.convert(profile, AgentConfig)
        if config.role == role and not (queues_given and role is Role.SUPERVISOR):
            return
        config.role = role
        if queues_given and role is Role.SUPERVISOR:
            config.queues = user.queues
    await services.router.put_agent(user.id, msgspec.json.encode(config))


async def revoke_sockets(services: Services, uid: str) -> None:
    """Its agent tokens stop working and its open sockets close, when it has a profile."""
    if await services.directory.token_version(uid) is not None:
        await services.router.revoke_tokens(uid)


@requires_admin
async def create_user(request: Request) -> Response:
    s = services_of(request)
    body = decode_config(await read_body(request), NewUser)
    await _check_queues(s, body.queues)
    password_hash = None if body.password is None else await s.passwords.hash(body.password)
    user = await s.accounts.create_user(
        body.id or new_id("u"), body.email, body.name, body.role, body.queues, password_hash
    )
    if user.role.is_agent:
        try:
            await sync_profile(s, user, queues_given=True)
        except SwitchboardError:
            await s.accounts.delete_user(user.id)  # no user without its agent
            raise
    return JSON(await user_view(s, user), status_code=201)


@requires_admin
async def list_users(request: Request) -> Response:
    s = services_of(request)
    params = request.query_params
    limit = bounded_int(params.get("limit"), "limit", 50, 1, MAX_PAGE)
    after = check_id("cursor", params["cursor"]) if params.get("cursor") else None
    users = await s.accounts.users(after, limit + 1)
    views = await user_views(s, users[:limit])
    return JSON(UserPage(views, views[-1].id if len(users) > limit else None))


@requires_admin
async def get_user(request: Request) -> Response:
    s = services_of(request)
    user = found(await s.accounts.user(path_id(request, "user")), "no such user")
    return JSON(await user_view(s, user))


@requires_admin
async def change_user(request: Request) -> Response:
    s = services_of(request)
    uid = path_id(request, "user")
    body = decode_config(await read_body(request), UserChange)
    if body.queues is not None:
        await _check_queues(s, body.queues)
    changes: dict[str, Any] = {
        name: value
        for name, value in msgspec.structs.asdict(body).items()
        if value is not None and name not in ("password", "disabled")
    }
    if body.password is not None:
        changes["password_hash"] = await s.passwords.hash(body.password)
    before = found(await s.accounts.user(uid), "no such user")
    user = found(await s.accounts.change_user(uid, changes, body.disabled), "no such user")
    if user.role.is_agent and not user.disabled:
        await sync_profile(s, user, queues_given=body.queues is not None)
    # A new role takes effect on its sockets when they reconnect (a supervisor's feed is set up at hello).
    if user.disabled or (before.role.is_agent and before.role is not user.role):
        await revoke_sockets(s, uid)
    if body.password is not None and not user.disabled:  # a reset: whoever knew the old one is signed out
        await s.accounts.end_sessions(uid)
        await revoke_sockets(s, uid)  # and the sockets of those sessions close
    return JSON(await user_view(s, user))


@requires_admin
async def delete_user(request: Request) -> Response:
    s = services_of(request)
    uid = path_id(request, "user")
    found(await s.accounts.delete_user(uid), "no such user")
    await revoke_sockets(s, uid)
    return Response(status_code=204)


_TAKEN = "a user with this email (or id) exists already"
routes = [
    ApiRoute(
        "/api/v1/users",
        list_users,
        "GET",
        Operation(
            "List the users, by id",
            {200: UserPage},
            params=[
                Param("limit", Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)], "users a page (default 50)"),
                Param("cursor", QueryId, "the `next_cursor` of the previous page"),
            ],
            errors={400: "a bad parameter"},
        ),
    ),
    ApiRoute(
        "/api/v1/users",
        create_user,
        "POST",
        Operation("Create a user", {201: UserView}, NewUser, errors={400: "a bad body or unknown queue", 409: _TAKEN}),
    ),
    ApiRoute(
        "/api/v1/users/{id}",
        get_user,
        "GET",
        Operation("Read a user", {200: UserView}, errors={400: "a bad id", 404: "no such user"}),
    ),
    ApiRoute(
        "/api/v1/users/{id}",
        change_user,
        "PATCH",
        Operation(
            "Change a user (`disabled: true` disables it and ends its sessions)",
            {200: UserView},
            UserChange,
            errors={400: "a bad id, body or unknown queue", 404: "no such user", 409: _TAKEN},
        ),
    ),
    ApiRoute(
        "/api/v1/users/{id}",
        delete_user,
        "DELETE",
        Operation("Delete a user", {204: None}, errors={400: "a bad id", 404: "no such user"}),
    ),
]
