"""Accounts, the pure parts: users and their roles, API keys, who is calling, the sign-in
throttle's rule, and what the audit trail may never hold.

The bodies and answers of `/api/v1/users`, `/api/v1/auth/*`, `/api/v1/me` and
`/api/v1/api-keys` are msgspec structs here, so that they are checked when
decoded and can be described (OpenAPI) from one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec

from .config import ID_PATTERN

#: Shorter passwords are refused; longer than the maximum too (nobody sends megabytes to the hasher).
PASSWORD_MIN = 10
PASSWORD_MAX = 1024

#: PostgreSQL's text cannot hold a NUL character: what is stored there refuses one (400, not a failed INSERT).
NO_NUL = r"^[^\u0000]*$"
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s\u0000]+@[^@\s\u0000]+$")]
StoredName = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Password = Annotated[str, msgspec.Meta(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
QueueId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern)]
Queues = Annotated[list[QueueId], msgspec.Meta(max_length=64)]
UserId = Annotated[str, msgspec.Meta(pattern=ID_PATTERN.pattern)]


class UserRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def is_agent(self) -> bool:
        """Agents and supervisors are the agent of the same id (their routing profile)."""
        return self is not UserRole.ADMIN


class ApiKeyScope(StrEnum):
    ADMIN = "admin"  # does what the admin token does
    READ = "read"  # may only read (GET)
    BOT = "bot"  # may only connect to the bot socket `/ws/bot`


class NewUser(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """POST /api/v1/users. `id` is optional: given, it names an existing agent's profile
    to sign in as (an agent's id is its user's id); else one is made."""

    email: Email
    name: StoredName
    role: UserRole
    queues: Queues = []
    password: Password | None = None
    id: UserId | None = None


class UserChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """PATCH /api/v1/users/{id}: only what is given changes."""

    email: Email | None = None
    name: StoredName | None = None
    role: UserRole | None = None
    queues: Queues | None = None
    password: Password | None = None
    disabled: bool | None = None


class UserView(msgspec.Struct, kw_only=True):
    """A user as the API shows it: never a password hash or a second factor's secret."""

    id: str
    email: str
    name: str
    role: UserRole
    queues: list[str]
    has_password: bool
    has_totp: bool
    oidc: bool
    disabled: bool
    created_at: int  # ms since the epoch
    updated_at: int
    agent_id: str | None  # the routing profile of an agent or supervisor: its own id


class UserPage(msgspec.Struct):
    users: list[UserView]
    next_cursor: str | None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """POST /api/v1/auth/login. Bounds are loose on purpose: a wrong password of any
    length is just wrong (401), except one longer than the hasher should see."""

    email: Annotated[str, msgspec.Meta(max_length=254, pattern=NO_NUL)]
    password: Annotated[str, msgspec.Meta(max_length=PASSWORD_MAX)]
    totp: Annotated[str, msgspec.Meta(max_length=16)] | None = None


class SignedIn(msgspec.Struct, kw_only=True):
    """What login answers: the user, and the CSRF token the page sends back as `X-CSRF-Token`."""

    user: UserView
    csrf_token: str
    expires_at: int


class SocketToken(msgspec.Struct, kw_only=True):
    token: str
    expires_at: int  # ms since the epoch
    agent_id: str


class NewApiKey(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: StoredName
    scope: ApiKeyScope


class ApiKeyView(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    name: str
    scope: ApiKeyScope
    created_by: str
    created_at: int
    last_used_at: int | None = None
    revoked_at: int | None = None
    key: str | None = None  # only in the answer to its creation


class ApiKeyList(msgspec.Struct):
    """The API keys, revoked ones included; never a key itself."""

    api_keys: list[ApiKeyView]


class Me(msgspec.Struct, kw_only=True):
    """GET /api/v1/me: who the credentials are. `kind` is `user` (a session), `agent`
    (an agent token), `api_key` or `admin_token`."""

    kind: str
    id: str
    name: str
    role: str
    queues: list[str]
    email: str | None = None
    agent_id: str | None = None
    scope: ApiKeyScope | None = None
    csrf_token: str | None = None  # with a session: what `X-CSRF-Token` must be


class AuditEntry(msgspec.Struct, kw_only=True):
    id: str
    at: int  # ms since the epoch
    actor: str
    action: str
    target: str
    ip: str | None
    before: Any
    after: Any


class AuditPage(msgspec.Struct):
    entries: list[AuditEntry]
    next_cursor: str | None


class ForcedState(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """POST /api/v1/agents/{id}/state: an admin, or a supervisor of one of the agent's
    queues, takes the agent out of routing (`available` is the agent's own choice)."""

    state: Literal["not_ready", "offline"]
    reason: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class AgentStateNow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The agent's state after the change, as its desk sees it (`agent.state`)."""

    state: str
    since: int  # ms since the epoch
    reason: str | None = None


def supervised(profile: Mapping[str, Any]) -> frozenset[str]:
    """The queues an agent profile supervises: a supervisor's queues; none for an agent."""
    return frozenset(profile.get("queues") or []) if profile.get("role") == "supervisor" else frozenset()


def supervises(supervisor: Mapping[str, Any], agent: Mapping[str, Any]) -> bool:
    """Whether a supervisor's profile covers an agent's: the agent (not another
    supervisor) is a member of one of the queues it supervises."""
    return agent.get("role", "agent") == "agent" and bool(supervised(supervisor) & set(agent.get("queues") or []))


class Caller(StrEnum):
    """What kind of credentials a request came with."""

    ADMIN_TOKEN = "admin_token"
    API_KEY = "api_key"
    SESSION = "session"
    AGENT_TOKEN = "agent_token"


#: How the audit trail names the bootstrap admin token.
ADMIN_TOKEN_ACTOR = "admin-token"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, once its credentials were checked."""

    caller: Caller
    actor: str  # as the audit trail names it: `admin-token`, `key:<id>`, `user:<id>`, `agent:<id>`
    admin: bool  # may do what the admin token does (read-scoped keys: reads only)
    read_only: bool = False
    agent: str | None = None  # the agent it acts as (an agent token, an agent's or supervisor's session)
    user_id: str | None = None
    session_id: str | None = None


def login_wait_s(failures: int, free: int, longest_s: float) -> float:
    """Seconds the next sign-in must wait after `failures` failed ones in the window:
    none for the first `free`, then 1, 2, 4... up to `longest_s`. The failures expire
    with the window, so nobody is locked out for longer than that."""
    over = failures - free
    if over <= 0:
        return 0.0
    return float(min(longest_s, 2.0 ** min(over - 1, 30)))


#: Field names whose values the audit trail never keeps (secrets, keys, hashes, tokens).
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "totp", "totp_secret", "secret", "key", "key_hash", "token", "csrf_token"}
)


def without_nul(value: Any) -> Any:
    """`value` with each NUL character of its strings replaced by U+FFFD, which jsonb can hold (NUL it cannot)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, Mapping):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


def without_secrets(value: Any) -> Any:
    """`value` with every secret field, at any depth, replaced by a mark that one was there."""
    if isinstance(value, Mapping):
        return {k: ("[secret]" if k in SECRET_FIELDS else without_secrets(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


# Single sign-on: what the OpenID Connect provider's groups give.

#: Without SWITCHBOARD_OIDC_ROLE_MAP, a group of a role's name gives that role.
DEFAULT_ROLE_MAP: Mapping[str, UserRole] = {role.value: role for role in UserRole}
#: A group `queue:<id>` gives the queue `<id>` (an agent's routing queue, a supervisor's supervised one).
QUEUE_GROUP_PREFIX = "queue:"
#: When the groups give several roles, the highest wins.
ROLE_RANK = {UserRole.AGENT: 1, UserRole.SUPERVISOR: 2, UserRole.ADMIN: 3}
#: More groups than this in a claim are not looked at (a claim is the provider's, but bounded all the same).
MAX_GROUPS = 1000


def parse_role_map(text: str | None) -> dict[str, UserRole]:
    """`group=role,...` (SWITCHBOARD_OIDC_ROLE_MAP) as a mapping; unset or blank: the default.
    ValueError naming the first entry that is not `group=role` with a known role."""
    if text is None or not text.strip():
        return dict(DEFAULT_ROLE_MAP)
    mapping: dict[str, UserRole] = {}
    for entry in text.split(","):
        group, equals, role = (part.strip() for part in entry.partition("="))
        if not entry.strip():
            continue
        if not equals or not group or role not in UserRole.__members__.values():
            raise ValueError(f"{entry.strip()!r} is not group=role (role: agent, supervisor or admin)")
        mapping[group] = UserRole(role)
    return mapping


class ProviderGrant(msgspec.Struct, frozen=True):
    """What a user of the provider is here: its role, and its queues (none for an admin)."""

    role: UserRole
    queues: list[str]


def grant_of(groups: Any, role_map: Mapping[str, UserRole]) -> ProviderGrant | None:
    """The role and queues the provider's `groups` claim gives (a list of names, or one
    name); None when no group maps to a role: such a user may not sign in here."""
    names = [groups] if isinstance(groups, str) else groups if isinstance(groups, list) else []
    names = [name for name in names[:MAX_GROUPS] if isinstance(name, str)]
    roles = [role_map[name] for name in names if name in role_map]
    if not roles:
        return None
    role = max(roles, key=ROLE_RANK.__getitem__)
    if not role.is_agent:
        return ProviderGrant(role, [])
    queues = {name.removeprefix(QUEUE_GROUP_PREFIX) for name in names if name.startswith(QUEUE_GROUP_PREFIX)}
    return ProviderGrant(role, sorted(q for q in queues if ID_PATTERN.match(q)))
