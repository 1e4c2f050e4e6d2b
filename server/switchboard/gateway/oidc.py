"""The OpenID Connect provider, as Switchboard's client of it (single sign-on).

Authlib's OAuth 2 client makes the requests: the authorization URL with PKCE (S256),
`state` and `nonce`; the code traded for tokens with the verifier; the refresh. The
ID token is checked with joserfc (Authlib's JOSE library): signed by a key of the
provider's JWKS, issued by the issuer for this client, unexpired, with the nonce of
this sign-in. The provider's metadata (`/.well-known/openid-configuration`) and its
keys are read once and kept; the keys are read again when a token names a key not
among them (the provider rotated its keys).

The provider is asked again when a session of its users is renewed (a refresh): a
refusal (`invalid_grant`: the user was disabled there, or its consent revoked) ends
the session; a provider that does not answer does not (it is asked again next time).
"""

from __future__ import annotations

import asyncio
import functools
import time
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

from ..settings import Settings
from .outbound import tls_context

if TYPE_CHECKING:
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

#: What Switchboard asks the provider for: who the user is, its email, name and groups, and a refresh token.
SCOPE = "openid email profile groups offline_access"
#: A provider slower than this is taken as not answering.
TIMEOUT_S = 10.0
#: Seconds of clock difference with the provider that an ID token's times may have.
LEEWAY_S = 60
#: Signature algorithms an ID token may use (never `none`, never a MAC keyed with the client secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


@functools.cache
def _authlib() -> tuple[type[AsyncOAuth2Client], type[OAuthError]]:
    """Authlib's OAuth 2 client and its error, imported at the first sign-in: with joserfc and
    the cryptography they bring, a fifth of what a node imports at its start, which a
    deployment without single sign-on need not pay."""
    import authlib.deprecate  # noqa: F401  # sets its warning filter first, so that the one below wins

    with warnings.catch_warnings():
        # Authlib 1.7+ prefers the `httpx2` package and warns when it falls back to httpx, which it supports.
        warnings.simplefilter("ignore", DeprecationWarning)
        from authlib.integrations.base_client import OAuthError as Refusal
        from authlib.integrations.httpx_client import AsyncOAuth2Client as Client
    return Client, Refusal


def _joserfc() -> tuple[ModuleType, type[JoseError], type[KeySet]]:
    """joserfc's `jwt`, its error and the key set, imported when the first ID token is checked (see `_authlib`)."""
    from joserfc import jwt
    from joserfc.errors import JoseError as Error
    from joserfc.jwk import KeySet as Keys

    return jwt, Error, Keys


class ProviderRefused(Exception):
    """The provider said no: an error at the authorization or token endpoint, or an ID token that is not good."""


class ProviderUnreachable(Exception):
    """The provider did not answer, or not as a provider does (its metadata or keys unreadable)."""


@dataclass(frozen=True, slots=True)
class SignedInAtProvider:
    claims: dict[str, Any]  # of the verified ID token
    refresh_token: str | None


class OidcProvider:
    def __init__(self, settings: Settings) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("single sign-on needs SWITCHBOARD_OIDC_ISSUER and SWITCHBOARD_OIDC_CLIENT_ID")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    def _client(self, redirect_uri: str | None = None) -> AsyncOAuth2Client:
        oauth_client, _ = _authlib()
        # A refresh asks for no scope: the provider keeps the sign-in's (which may lack `offline_access`).
        return oauth_client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scope=SCOPE if redirect_uri else None,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=TIMEOUT_S,
            verify=tls_context(),
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_S, verify=tls_context()) as http:
                answer = await http.get(url)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnreachable(f"{url}: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise ProviderUnreachable(f"{url}: not a JSON object")
        return document

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (read once), checked to be the issuer's own."""
        if self._metadata is None:
            async with self._lock:
                if self._metadata is None:
                    document = await self._get_json(self.issuer + "/.well-known/openid-configuration")
                    if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                        raise ProviderUnreachable("the discovery document is of another issuer")
                    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                        if not isinstance(document.get(endpoint), str):
                            raise ProviderUnreachable(f"the discovery document has no {endpoint}")
                    self._metadata = document
        return self._metadata

    async def _key_set(self, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            _, jose_error, key_set = _joserfc()
            document = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                self._keys = key_set.import_key_set(document)  # type: ignore[arg-type]
            except (jose_error, ValueError, TypeError, KeyError) as exc:
                raise ProviderUnreachable("the provider's JWKS cannot be read") from exc
        return self._keys

    async def authorization_url(self, redirect_uri: str, state: str, nonce: str, code_verifier: str) -> str:
        endpoint = (await self.metadata())["authorization_endpoint"]
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(endpoint, state=state, nonce=nonce, code_verifier=code_verifier)
        return str(url)

    async def sign_in(self, code: str, redirect_uri: str, code_verifier: str, nonce: str) -> SignedInAtProvider:
        """Trades the code for tokens (with the PKCE verifier) and verifies the ID token."""
        token = await self._token_request(redirect_uri, code=code, code_verifier=code_verifier)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderRefused("the provider answered no ID token")
        claims = await self._verified_claims(id_token, nonce)
        refresh_token = token.get("refresh_token")
        return SignedInAtProvider(claims, refresh_token if isinstance(refresh_token, str) else None)

    async def refresh(self, refresh_token: str) -> str | None:
        """Asks the provider whether the user may still sign in: the new refresh token
        (None: keep the old one); ProviderRefused when it may not."""
        token = await self._token_request(None, refresh_token=refresh_token)
        renewed = token.get("refresh_token")
        return renewed if isinstance(renewed, str) and renewed != refresh_token else None

    async def _token_request(self, redirect_uri: str | None, **grant: str) -> dict[str, Any]:
        endpoint = (await self.metadata())["token_endpoint"]
        _, oauth_error = _authlib()
        try:
            async with self._client(redirect_uri) as client:
                if "refresh_token" in grant:
                    token = await client.refresh_token(endpoint, refresh_token=grant["refresh_token"])
                else:
                    token = await client.fetch_token(endpoint, grant_type="authorization_code", **grant)
        except oauth_error as exc:
            raise ProviderRefused(f"{exc.error}: {exc.description or ''}".strip(": ")) from exc
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code < 500:
                raise ProviderRefused(f"the token endpoint answered {exc.response.status_code}") from exc
            raise ProviderUnreachable(f"the token endpoint answered {exc.response.status_code}") from exc
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"the token endpoint: {type(exc).__name__}") from exc
        return dict(token)

    async def _verified_claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        jwt, jose_error, _ = _joserfc()
        for refresh_keys in (False, True):
            try:
                token = jwt.decode(id_token, await self._key_set(refresh_keys), algorithms=ALGORITHMS)
                break
            except jose_error as exc:
                if refresh_keys:
                    raise ProviderRefused(f"the ID token's signature does not hold: {exc.error}") from exc
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=int(time.time()),
            leeway=LEEWAY_S,
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except jose_error as exc:
            raise ProviderRefused(f"the ID token is not good: {exc.error} {exc.description or ''}".strip()) from exc
        audience = claims.get("aud")
        if self.client_id not in (audience if isinstance(audience, list) else [audience]):
            raise ProviderRefused("the ID token is for another client")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise ProviderRefused("the ID token has no subject")
        return claims
