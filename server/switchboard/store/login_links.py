"""One-time sign-in links: a random token that signs one user in once, within a short time.

Only the token's SHA-256 is stored, under a key that expires with the link; using it
takes the key away in the same command (GETDEL), so two tabs cannot both use it.
"""

from __future__ import annotations

import hashlib
import secrets

from redis.asyncio import Redis

from .errors import call
from .keys import Keys

#: How long a link works: long enough to open it after `make run`, short enough not to linger.
LOGIN_LINK_TTL_S = 1800
#: Tokens are `secrets.token_urlsafe(32)`: 43 characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 64


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginLinks:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def create(self, user_id: str, ttl_s: int = LOGIN_LINK_TTL_S) -> str:
        """A new link's token for the user; only its hash is kept, for `ttl_s` seconds."""
        token = secrets.token_urlsafe(32)
        await call(self.redis.set(self.keys.login_link(_token_hash(token)), user_id, ex=ttl_s))
        return token

    async def consume(self, token: str) -> str | None:
        """The user of a valid, unused, unexpired token, which is used up by this call; else None."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            return None
        user_id = await call(self.redis.getdel(self.keys.login_link(_token_hash(token))))
        if user_id is None:
            return None
        return user_id.decode() if isinstance(user_id, bytes) else str(user_id)
