"""Users, their sign-in sessions and the API keys, in PostgreSQL.

Only hashes of secrets are stored and read here: a password's Argon2id hash
(made and checked by gateway/passwords.py, off the event loop), and the SHA-256
of a session's secret or of an API key. A disabled user has no sessions (they
are deleted when it is disabled), and its API keys are not found while it is.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import asyncpg

from ..domain.accounts import ApiKeyScope, ApiKeyView, UserRole, UserView
from ..domain.errors import ErrorCode, SwitchboardError
from .database import Database, ms

#: A session or key last marked as used longer ago than this is marked again (not on every
#: request); a session whose lifetime is short (tests) sooner: at a quarter of it.
TOUCH_EVERY = datetime.timedelta(seconds=60)


def _ms(value: datetime.datetime) -> int:
    return round(value.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class User:
    """A user's row, with the hashes the API never shows."""

    id: str
    email: str
    name: str
    role: UserRole
    queues: list[str]
    password_hash: str | None
    totp_secret: str | None
    totp_pending_secret: str | None  # enrolled, not yet confirmed with a code
    oidc_subject: str | None
    disabled: bool
    created_at: int
    updated_at: int

    @classmethod
    def of(cls, row: asyncpg.Record) -> User:
        return cls(
            id=row["id"],
            email=row["email"],
            name=row["name"],
            role=UserRole(row["role"]),
            queues=list(row["queues"]),
            password_hash=row["password_hash"],
            totp_secret=row["totp_secret"],
            totp_pending_secret=row["totp_pending_secret"],
            oidc_subject=row["oidc_subject"],
            disabled=row["disabled_at"] is not None,
            created_at=_ms(row["created_at"]),
            updated_at=_ms(row["updated_at"]),
        )

    def view(self, queues: list[str] | None = None) -> UserView:
        """As the API shows it; `queues` overrides the row's (an agent's live profile)."""
        return UserView(
            id=self.id,
            email=self.email,
            name=self.name,
            role=self.role,
            queues=self.queues if queues is None else queues,
            has_password=self.password_hash is not None,
            has_totp=self.totp_secret is not None,
            oidc=self.oidc_subject is not None,
            disabled=self.disabled,
            created_at=self.created_at,
            updated_at=self.updated_at,
            agent_id=self.id if self.role.is_agent else None,
        )


@dataclass(frozen=True, slots=True)
class SignInSession:
    id: str
    user: User
    expires_at: int  # ms since the epoch
    renewed: bool  # its expiry moved with this use: the cookie is sent again
    single_sign_on: bool = False  # signed in through the OpenID Connect provider (which is asked again now and then)


def _key_view(row: asyncpg.Record) -> ApiKeyView:
    return ApiKeyView(
        id=row["id"],
        name=row["name"],
        scope=ApiKeyScope(row["scope"]),
        created_by=row["created_by"],
        created_at=_ms(row["created_at"]),
        last_used_at=ms(row["last_used_at"]),
        revoked_at=ms(row["revoked_at"]),
    )


def _unique(exc: asyncpg.UniqueViolationError) -> SwitchboardError:
    what = "email" if "email" in str(exc.constraint_name or "") else "id"
    return SwitchboardError(ErrorCode.CONFLICT, f"a user with this {what} exists already")


def _stored(row: asyncpg.Record | None) -> User:
    """The user an INSERT ... RETURNING stored (it always answers a row)."""
    if row is None:
        raise SwitchboardError(ErrorCode.INTERNAL, "the user was not stored")
    return User.of(row)


#: The columns of `users` a change may set, as UserChange and the PATCH route name them.
_CHANGEABLE = ("email", "name", "role", "queues", "password_hash")
#: The columns a sign-in through the OpenID Connect provider keeps in step with the provider's claims.
_FROM_PROVIDER = ("email", "name", "role", "queues")


class Accounts:
    def __init__(self, database: Database) -> None:
        self.database = database

    # users

    async def create_user(
        self, uid: str, email: str, name: str, role: UserRole, queues: list[str], password_hash: str | None
    ) -> User:
        try:
            async with self.database.pool.acquire() as connection:
                row = await connection.fetchrow(
                    "INSERT INTO users (id, email, name, role, queues, password_hash) VALUES ($1, $2, $3, $4, $5, $6)"
                    " RETURNING *",
                    uid,
                    email,
                    name,
                    role.value,
                    queues,
                    password_hash,
                )
        except asyncpg.UniqueViolationError as exc:
            raise _unique(exc) from None
        return _stored(row)

    async def user(self, uid: str) -> User | None:
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow("SELECT * FROM users WHERE id = $1", uid)
        return None if row is None else User.of(row)

    async def user_by_email(self, email: str) -> User | None:
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow("SELECT * FROM users WHERE lower(email) = lower($1)", email)
        return None if row is None else User.of(row)

    async def users(self, after: str | None, limit: int) -> list[User]:
        """A page of users in id order, after the id `after`."""
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT * FROM users WHERE $1::text IS NULL OR id > $1 ORDER BY id LIMIT $2", after, limit
            )
        return [User.of(row) for row in rows]

    async def change_user(self, uid: str, changes: dict[str, Any], disabled: bool | None) -> User | None:
        """Sets the given columns (and disables or enables it); disabling ends its sessions."""
        columns = [name for name in _CHANGEABLE if name in changes]
        assignments = [f"{name} = ${i}" for i, name in enumerate(columns, start=2)]
        if disabled is not None:
            assignments.append("disabled_at = " + ("coalesce(disabled_at, now())" if disabled else "NULL"))
        values = [changes[name].value if name == "role" else changes[name] for name in columns]
        try:
            async with self.database.pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(
                    f"UPDATE users SET {', '.join([*assignments, 'updated_at = now()'])} WHERE id = $1 RETURNING *",
                    uid,
                    *values,
                )
                if row is not None and row["disabled_at"] is not None:
                    await connection.execute("DELETE FROM user_sessions WHERE user_id = $1", uid)
        except asyncpg.UniqueViolationError as exc:
            raise _unique(exc) from None
        return None if row is None else User.of(row)

    async def delete_user(self, uid: str) -> User | None:
        """Deletes the user with its sessions, and revokes the API keys it created."""
        async with self.database.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE api_keys SET revoked_at = now() WHERE created_by_user = $1 AND revoked_at IS NULL", uid
            )
            row = await connection.fetchrow("DELETE FROM users WHERE id = $1 RETURNING *", uid)
        return None if row is None else User.of(row)

    async def set_password_hash(self, uid: str, password_hash: str) -> None:
        """A newer hash of the same password (argon2's parameters went up)."""
        async with self.database.pool.acquire() as connection:
            await connection.execute("UPDATE users SET password_hash = $2 WHERE id = $1", uid, password_hash)

    # sign-in sessions

    async def create_session(
        self,
        sid: str,
        secret_hash: bytes,
        uid: str,
        ttl_s: float,
        ip: str,
        user_agent: str,
        oidc_refresh_token: str | None = None,
    ) -> int:
        """Starts a session; returns when it ends unless used (ms since the epoch). Sessions
        that ended go then (an index on their end makes that cheap). A session signed in
        through the OpenID Connect provider keeps the provider's refresh token."""
        async with self.database.pool.acquire() as connection:
            await connection.execute("DELETE FROM user_sessions WHERE expires_at < now()")
            expires_at = await connection.fetchval(
                "INSERT INTO user_sessions (id, secret_hash, user_id, expires_at, ip, user_agent,"
                " oidc_refresh_token, oidc_checked_at)"
                " VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6, $7,"
                " CASE WHEN $7::text IS NULL THEN NULL ELSE now() END) RETURNING expires_at",
                sid,
                secret_hash,
                uid,
                ttl_s,
                ip,
                user_agent[:512],
                oidc_refresh_token,
            )
        return _ms(expires_at)

    async def session(self, secret_hash: bytes, ttl_s: float, max_s: float) -> SignInSession | None:
        """The live session of an enabled user with this secret, renewed (at most once a
        minute) to `ttl_s` from now, never past `max_s` after it began."""
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT s.id AS session_id, s.expires_at, s.last_used_at < now() - $2::interval AS due,"
                " s.oidc_checked_at IS NOT NULL AS single_sign_on, u.*"
                " FROM user_sessions s JOIN users u ON u.id = s.user_id"
                " WHERE s.secret_hash = $1 AND s.expires_at > now() AND u.disabled_at IS NULL",
                secret_hash,
                min(TOUCH_EVERY, datetime.timedelta(seconds=ttl_s / 4)),
            )
            if row is None:
                return None
            expires_at = row["expires_at"]
            if row["due"]:
                expires_at = await connection.fetchval(
                    "UPDATE user_sessions SET last_used_at = now(),"
                    " expires_at = least(now() + make_interval(secs => $2), created_at + make_interval(secs => $3))"
                    " WHERE id = $1 RETURNING expires_at",
                    row["session_id"],
                    ttl_s,
                    max_s,
                )
                if expires_at is None:  # ended meanwhile
                    return None
        return SignInSession(
            row["session_id"],
            User.of(row),
            _ms(expires_at),
            renewed=bool(row["due"]),
            single_sign_on=bool(row["single_sign_on"]),
        )

    async def end_session(self, sid: str) -> None:
        async with self.database.pool.acquire() as connection:
            await connection.execute("DELETE FROM user_sessions WHERE id = $1", sid)

    async def end_sessions(self, uid: str) -> None:
        """Every sign-in session of the user ends (it is signed out everywhere)."""
        async with self.database.pool.acquire() as connection:
            await connection.execute("DELETE FROM user_sessions WHERE user_id = $1", uid)

    # sessions signed in through the OpenID Connect provider

    async def claim_provider_check(self, sid: str, every_s: float) -> str | None:
        """The refresh token of a provider's session whose last check is `every_s` old, marked
        checked now, so that of the requests that find it due, one (on any node) asks the provider."""
        async with self.database.pool.acquire() as connection:
            token: str | None = await connection.fetchval(
                "UPDATE user_sessions SET oidc_checked_at = now()"
                " WHERE id = $1 AND oidc_refresh_token IS NOT NULL"
                " AND oidc_checked_at < now() - make_interval(secs => $2) RETURNING oidc_refresh_token",
                sid,
                every_s,
            )
        return token

    async def keep_refresh_token(self, sid: str, refresh_token: str) -> None:
        """The provider's new refresh token (it may hand out a new one with each refresh)."""
        async with self.database.pool.acquire() as connection:
            await connection.execute(
                "UPDATE user_sessions SET oidc_refresh_token = $2 WHERE id = $1", sid, refresh_token
            )

    async def user_by_subject(self, subject: str) -> User | None:
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow("SELECT * FROM users WHERE oidc_subject = $1", subject)
        return None if row is None else User.of(row)

    async def sign_in_from_provider(
        self, uid: str, subject: str, email: str, name: str, role: UserRole, queues: list[str], link_by_email: bool
    ) -> User:
        """The user the provider's `subject` is: created on its first sign-in, else its email,
        name, role and queues follow the provider's claims. With `link_by_email` (the provider
        vouches for the address), a user of the same email made here before, and not yet of
        another subject, becomes this subject's on its first sign-in through the provider."""
        values = [email, name, role.value, queues]
        assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(_FROM_PROVIDER, start=2))
        try:
            async with self.database.pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(
                    f"UPDATE users SET {assignments}, updated_at = now() WHERE oidc_subject = $1 RETURNING *",
                    subject,
                    *values,
                )
                if row is None and link_by_email:
                    row = await connection.fetchrow(
                        f"UPDATE users SET {assignments}, oidc_subject = $6, updated_at = now()"
                        " WHERE lower(email) = lower($1) AND oidc_subject IS NULL RETURNING *",
                        email,
                        *values,
                        subject,
                    )
                if row is None:
                    row = await connection.fetchrow(
                        "INSERT INTO users (id, email, name, role, queues, oidc_subject)"
                        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                        uid,
                        *values,
                        subject,
                    )
        except asyncpg.UniqueViolationError as exc:
            raise _unique(exc) from None
        return _stored(row)

    # the second factor (TOTP)

    async def begin_totp(self, uid: str, secret: str) -> None:
        """Keeps a new secret until the user confirms it with a code (a later enrolment replaces it)."""
        async with self.database.pool.acquire() as connection:
            await connection.execute("UPDATE users SET totp_pending_secret = $2 WHERE id = $1", uid, secret)

    async def confirm_totp(self, uid: str, secret: str, step: int) -> bool:
        """The pending `secret` becomes the one sign-in requires; the code of `step` is used up.
        False when the pending secret is no longer `secret` (enrolled again meanwhile)."""
        async with self.database.pool.acquire() as connection:
            confirmed = await connection.fetchval(
                "UPDATE users SET totp_secret = totp_pending_secret, totp_pending_secret = NULL,"
                " totp_last_step = $3, updated_at = now() WHERE id = $1 AND totp_pending_secret = $2 RETURNING id",
                uid,
                secret,
                step,
            )
        return confirmed is not None

    async def use_totp_step(self, uid: str, step: int) -> bool:
        """Marks the code of time step `step` used; False when it (or a later one) was used
        already: a code is accepted once, on whichever node it reaches first."""
        async with self.database.pool.acquire() as connection:
            used = await connection.fetchval(
                "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_secret IS NOT NULL"
                " AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
                uid,
                step,
            )
        return used is not None

    async def reset_totp(self, uid: str) -> User | None:
        """Removes the user's second factor (enrolled or pending) and ends its sessions."""
        async with self.database.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "UPDATE users SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL,"
                " updated_at = now() WHERE id = $1 RETURNING *",
                uid,
            )
            if row is not None:
                await connection.execute("DELETE FROM user_sessions WHERE user_id = $1", uid)
        return None if row is None else User.of(row)

    # API keys

    async def create_key(
        self, kid: str, key_hash: bytes, name: str, scope: ApiKeyScope, created_by: str, created_by_user: str | None
    ) -> ApiKeyView:
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                "INSERT INTO api_keys (id, key_hash, name, scope, created_by, created_by_user)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                kid,
                key_hash,
                name,
                scope.value,
                created_by,
                created_by_user,
            )
        if row is None:  # INSERT ... RETURNING answers a row
            raise SwitchboardError(ErrorCode.INTERNAL, "the API key was not stored")
        return _key_view(row)

    async def keys(self) -> list[ApiKeyView]:
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch("SELECT * FROM api_keys ORDER BY created_at, id")
        return [_key_view(row) for row in rows]

    async def key(self, kid: str) -> ApiKeyView | None:
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow("SELECT * FROM api_keys WHERE id = $1", kid)
        return None if row is None else _key_view(row)

    async def revoke_key(self, kid: str) -> ApiKeyView | None:
        """Revokes the key (once; revoking again keeps the first time); None when there is none."""
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *", kid
            )
        return None if row is None else _key_view(row)

    async def key_by_hash(self, key_hash: bytes) -> ApiKeyView | None:
        """The working key with this hash: not revoked, and not of a disabled user. Marks it used."""
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                "SELECT k.* FROM api_keys k LEFT JOIN users u ON u.id = k.created_by_user"
                " WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL",
                key_hash,
            )
            if row is not None and (row["last_used_at"] is None or row["last_used_at"] < _now() - TOUCH_EVERY):
                await connection.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", row["id"])
        return None if row is None else _key_view(row)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
