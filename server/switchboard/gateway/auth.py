"""Signed bearer tokens for visitors and agents (HMAC-SHA256, compared in constant time)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import NamedTuple

import msgspec


class AgentClaims(NamedTuple):
    agent_id: str
    version: str  # the agent's token version when issued; revoking changes it
    expires_at: int  # seconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _same(given: str, expected: str) -> bool:
    # compare_digest refuses non-ASCII str; a token is whatever a client sent.
    return hmac.compare_digest(given.encode(), expected.encode())


def new_id(prefix: str) -> str:
    """An unguessable identifier (128 random bits)."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


#: visitors of a signed identity; new_id("v") never starts so
IDENTIFIED_VISITOR_PREFIX = "vi_"


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"switchboard-tokens\0" + secret.encode()).digest()

    def _sign(self, purpose: bytes, payload: str) -> str:
        return _b64(hmac.new(self._key, purpose + b"\0" + payload.encode(), hashlib.sha256).digest())

    def visitor_token(self, visitor_id: str) -> str:
        return f"v1.{visitor_id}.{self._sign(b'visitor', visitor_id)}"

    def identified_visitor(self, external_id: str) -> str:
        """The visitor of the host site's customer `external_id` (from its signed identity):
        the same on every device, and not to be guessed from the id without the secret."""
        return IDENTIFIED_VISITOR_PREFIX + self._sign(b"identity", external_id)[:22]

    def verify_visitor(self, token: str) -> str | None:
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            return None
        if not _same(parts[2], self._sign(b"visitor", parts[1])):
            return None
        return parts[1]

    def agent_token(self, agent_id: str, version: str, expires_at_s: int) -> str:
        payload = _b64(msgspec.json.encode([agent_id, version, expires_at_s]))
        return f"a1.{payload}.{self._sign(b'agent', payload)}"

    def verify_agent(self, token: str, now_s: float) -> tuple[str, str] | None:
        """(agent id, token version) of a valid, unexpired token, else None."""
        claims = self.agent_claims(token, now_s)
        return None if claims is None else (claims.agent_id, claims.version)

    def agent_claims(self, token: str, now_s: float) -> AgentClaims | None:
        """What a valid, unexpired agent token says, else None."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "a1":
            return None
        if not _same(parts[2], self._sign(b"agent", parts[1])):
            return None
        try:
            agent_id, version, expires_at = msgspec.json.decode(_unb64(parts[1]), type=tuple[str, str, int])
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            return None
        if expires_at < now_s:
            return None
        return AgentClaims(agent_id, version, expires_at)
