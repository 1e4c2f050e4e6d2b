"""Verifies the host site's identity tokens (PyJWT): HS256 with `SWITCHBOARD_IDENTITY_SECRET`,
RS256 with `SWITCHBOARD_IDENTITY_PUBLIC_KEY`. Each is a list, so a site can sign with a new
key while tokens of the old one are still out; a token verifies when any key of its
algorithm does. `exp` and `sub` are required; the claims are read in domain/identity.py.

PyJWT, and the cryptography it brings, are imported where a token or a key is first read:
they are a tenth of what a node imports at its start, which a site without identity
tokens need not pay."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.identity import IdentityClaims, read_claims
from ..settings import Settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

MAX_TOKEN_LENGTH = 8192
LEEWAY_S = 30  # clocks of the site and of the node disagree a little


def _public_key(text: str) -> RSAPublicKey:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    pem = text if text.lstrip().startswith("-----BEGIN") else Path(text).read_text()
    try:
        key = load_pem_public_key(pem.replace("\\n", "\n").encode())
    except ValueError as error:
        raise SystemExit(f"SWITCHBOARD_IDENTITY_PUBLIC_KEY holds a key that is not a PEM public key: {error}") from None
    if not isinstance(key, RSAPublicKey):
        raise SystemExit("SWITCHBOARD_IDENTITY_PUBLIC_KEY must hold RSA public keys (RS256)")
    return key


class IdentityVerifier:
    def __init__(self, secrets: tuple[str, ...] | None, public_keys: tuple[str, ...] | None) -> None:
        self._keys: list[tuple[Any, str]] = [(secret.encode(), "HS256") for secret in secrets or ()]
        self._keys += [(_public_key(text), "RS256") for text in public_keys or ()]

    @classmethod
    def from_settings(cls, settings: Settings) -> IdentityVerifier:
        return cls(settings.identity_secret, settings.identity_public_key)

    def verify(self, token: str) -> IdentityClaims:
        """The token's claims; `SwitchboardError(unauthorized)` when it is forged, expired,
        malformed, or when this deployment has no identity key."""
        if not self._keys:
            raise SwitchboardError(ErrorCode.UNAUTHORIZED, "identity tokens are not configured on this deployment")
        if len(token) > MAX_TOKEN_LENGTH:
            raise SwitchboardError(ErrorCode.UNAUTHORIZED, "identity token too long")
        import jwt

        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise SwitchboardError(ErrorCode.UNAUTHORIZED, "identity is not a JWT") from None
        expired = False
        for key, key_algorithm in self._keys:
            if key_algorithm != algorithm:
                continue
            try:
                payload = jwt.decode(
                    token,
                    key,
                    algorithms=[key_algorithm],
                    leeway=LEEWAY_S,
                    # a site may name an audience of its own; this deployment defines none
                    options={"require": ["exp", "sub"], "verify_aud": False},
                )
            except jwt.ExpiredSignatureError:
                expired = True
            except jwt.InvalidTokenError:
                continue
            else:
                return read_claims(payload)
        raise SwitchboardError(ErrorCode.UNAUTHORIZED, "identity expired" if expired else "identity not verified")
