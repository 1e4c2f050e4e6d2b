"""Sign-ins through the OpenID Connect provider under way: what the callback needs to
finish one, kept between the redirect to the provider and the user's return.

Kept under the SHA-256 of the flow's `state` (only the browser and the provider see
the state itself), for a few minutes; the callback takes it away in the same command
(GETDEL), so a state works once: a replayed or forged callback finds nothing.
"""

from __future__ import annotations

import hashlib

import msgspec
from redis.asyncio import Redis

from .errors import call
from .keys import Keys

#: Long enough to sign in at the provider (a password manager, a second factor there), no longer.
FLOW_TTL_S = 600
#: States are `secrets.token_urlsafe(32)`: 43 characters; anything much longer is not one.
MAX_STATE_LENGTH = 64


class OidcFlow(msgspec.Struct, frozen=True):
    nonce: str  # the ID token must carry it back
    code_verifier: str  # PKCE: only this server can trade the code for tokens
    next_path: str | None  # the page of this site the user came for
    redirect_uri: str  # the code is traded with the redirect URI it was issued for
    browser_key_hash: str  # SHA-256 of what the cookie of the browser that began it holds


def _key_of(keys: Keys, state: str) -> str:
    return keys.oidc_flow(hashlib.sha256(state.encode()).hexdigest())


class OidcFlows:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def begin(self, state: str, flow: OidcFlow) -> None:
        await call(self.redis.set(_key_of(self.keys, state), msgspec.json.encode(flow), ex=FLOW_TTL_S))

    async def finish(self, state: str) -> OidcFlow | None:
        """The flow of `state`, which this call ends; None when it is unknown, used or expired."""
        if not state or len(state) > MAX_STATE_LENGTH or not state.isascii():
            return None
        stored = await call(self.redis.getdel(_key_of(self.keys, state)))
        if stored is None:
            return None
        try:
            return msgspec.json.decode(stored, type=OidcFlow)
        except msgspec.DecodeError:
            return None
