"""Password links: a random token that lets one user choose a password once, within a set time.

The link of an invitation (a new user sets its first password) and of a password
reset are the same kind; what it is for is kept beside the user, for the audit
trail. As with sign-in links (login_links.py), only the token's SHA-256 is stored,
under a key that expires with the link, and using it takes the key away in the
same command (GETDEL), so a link works once even when two tabs race for it.
"""

from __future__ import annotations

import enum
import hashlib
import secrets

from redis.asyncio import Redis

from .errors import call
from .keys import Keys
from .login_links import MAX_TOKEN_LENGTH


class LinkPurpose(enum.StrEnum):
    INVITATION = "invitation"
    RESET = "reset"


class PasswordLinks:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def _key(self, token: str) -> str:
        return self.keys.password_link(hashlib.sha256(token.encode()).hexdigest())

    async def create(self, user_id: str, purpose: LinkPurpose, ttl_s: float) -> str:
        """A new link's token; only its hash is kept, for `ttl_s` seconds."""
        token = secrets.token_urlsafe(32)
        await call(self.redis.set(self._key(token), f"{purpose.value}:{user_id}", ex=max(1, int(ttl_s))))
        return token

    async def consume(self, token: str) -> tuple[str, LinkPurpose] | None:
        """The user and purpose of a valid, unused, unexpired token, which this call uses up; else None."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        stored = await call(self.redis.getdel(self._key(token)))
        if stored is None:
            return None
        purpose, _, user_id = (stored.decode() if isinstance(stored, bytes) else str(stored)).partition(":")
        return user_id, LinkPurpose(purpose)
