"""A session signed in through the single sign-on provider is checked there as it is renewed
(SWITCHBOARD_OIDC_CHECK_S): a user disabled at the provider is signed out here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ...record.database import RECORD_ERRORS
from ..oidc import ProviderRefused, ProviderUnreachable

if TYPE_CHECKING:
    from ...record.accounts import SignInSession
    from ..services import Services

log = logging.getLogger(__name__)


async def recheck_at_provider(services: Services, session: SignInSession) -> bool:
    """Whether a session signed in through the provider may go on: at most once per
    SWITCHBOARD_OIDC_CHECK_S (on whichever node claims it first), its refresh token is
    refreshed at the provider. A refusal ends the session and closes the user's sockets
    (4401, every node); a provider that does not answer is asked again at the next check."""
    provider = services.oidc
    if provider is None or not session.single_sign_on:
        return True
    refresh_token = await services.accounts.claim_provider_check(session.id, services.settings.oidc_check_s)
    if refresh_token is None:
        return True
    try:
        renewed = await provider.refresh(refresh_token)
    except ProviderUnreachable as exc:
        log.warning("single sign-on: the provider did not answer a refresh: %s", exc)
        return True
    except ProviderRefused as exc:
        log.info("single sign-on: the provider refused the session of %s: %s", session.user.id, exc)
        await services.accounts.end_session(session.id)
        if await services.directory.token_version(session.user.id) is not None:
            await services.router.revoke_tokens(session.user.id)
        try:
            actor = f"user:{session.user.id}"
            await services.audit_trail.record(actor, "auth.provider_refused", session.user.id, None, None, None)
        except RECORD_ERRORS:
            pass  # the session has ended, which is what matters
        return False
    if renewed is not None:
        await services.accounts.keep_refresh_token(session.id, renewed)
    return True
