"""A customer identified by the host site: the claims of its signed identity token.

The site that embeds the widget signs a JWT for its signed-in customer with the
deployment's identity key and hands it to the widget, which sends it in `hello` as
`identity`. A valid one names the customer (`sub` is the site's own id of that
customer) and makes the contact verified, as an agent's verification would; the
customer cannot claim an `external_id` any other way. The signature is checked in
the gateway (gateway/identity.py); this is what the claims must hold.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .errors import ErrorCode, SwitchboardError

Claim = Annotated[str, msgspec.Meta(max_length=512)]


class IdentityClaims(msgspec.Struct, kw_only=True):
    """The claims read from the token (`exp` was checked with the signature); others are left alone."""

    sub: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    name: Claim | None = None
    email: Claim | None = None
    phone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    #: the site's word for how much the customer matters (a VIP), 0 to 100: raises its chats'
    #: priority within their queue, up to the queue's `max_chat_priority`
    priority: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None

    def customer(self) -> dict[str, str]:
        """The customer fields of a session started under this identity."""
        fields = {"external_id": self.sub, "name": self.name, "email": self.email, "phone": self.phone}
        return {key: value for key, value in fields.items() if value}


def read_claims(payload: dict[str, Any]) -> IdentityClaims:
    """The claims of a token whose signature and expiry were checked; refused when one is
    missing or of the wrong kind."""
    try:
        return msgspec.convert(payload, IdentityClaims)
    except msgspec.ValidationError as error:
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, f"identity: {error}") from None


def identified_customer(claims: IdentityClaims | None, given: dict[str, str]) -> dict[str, str]:
    """The customer of a new session: what the widget gave, overridden by what the
    signed identity says (the site vouches for those; the customer's own claims do not)."""
    if claims is None:
        return given
    return {**given, **claims.customer()}


def chat_priority(asked: int, claims: IdentityClaims | None, queue_max: int) -> int:
    """A new chat's own priority: what start_chat asked for (refused by the queue above its
    maximum), raised to what the signed identity says, which is capped at the queue's
    maximum instead (the site vouches for it; the customer did not ask for too much)."""
    if claims is None or claims.priority is None:
        return asked
    return max(asked, min(claims.priority, queue_max))
