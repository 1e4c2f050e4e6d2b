"""Password links: a random token that lets one user choose a password once, within a set time.

The link of an invitation (a new user sets its first password) and of a password
reset are the same kind; what it is for is kept beside the user, for the audit
trail. As with sign-in links (login_links.py), only the token's SHA-256 is stored,
under a key that expires with the link, and using it takes the key away in the
same command (GETDEL), so a link works once even when two tabs race for it. Each
user's links are also listed under the user: once one is used, the others (an
earlier invitation, a reset lying in an inbox) stop working too.
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


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class PasswordLinks:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def create(self, user_id: str, purpose: LinkPurpose, ttl_s: float) -> str:
        """A new link's token; only its hash is kept, for `ttl_s` seconds."""
        token = secrets.token_urlsafe(32)
        token_hash, ttl = _token_hash(token), max(1, int(ttl_s))
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.keys.password_link(token_hash), f"{purpose.value}:{user_id}", ex=ttl)
        pipe.sadd(self.keys.password_links_of(user_id), token_hash)
        pipe.expire(self.keys.password_links_of(user_id), ttl)  # every link of it lasts as long: the last one's end
        await call(pipe.execute())
        return token

    async def consume(self, token: str) -> tuple[str, LinkPurpose] | None:
        """The user and purpose of a valid, unused, unexpired token, which this call uses up
        together with the user's other links; else None."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        stored = await call(self.redis.getdel(self.keys.password_link(_token_hash(token))))
        if stored is None:
            return None
        purpose, _, user_id = _text(stored).partition(":")
        listed = self.keys.password_links_of(user_id)
        others = [self.keys.password_link(_text(h)) for h in await call(self.redis.smembers(listed))]
        await call(self.redis.delete(listed, *others))
        return user_id, LinkPurpose(purpose)
