"""The second factor: time-based one-time codes (TOTP, RFC 6238) as authenticator apps make them.

A code is good in the 30-second step it was made for and in the steps on either
side of it (a phone's clock a little off, a code typed as its step ended). Which
step a code matched is what is kept (`users.totp_last_step`), so that a code is
accepted once and no earlier code after it: one seen over a shoulder or in a log
cannot be used again.
"""

from __future__ import annotations

import hmac
from typing import Annotated

import msgspec
import pyotp

#: Steps on either side of the current one whose codes are accepted too.
DRIFT_STEPS = 1
#: The name authenticator apps show beside the account.
ISSUER = "Switchboard"

TotpCode = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


class TotpEnrolment(msgspec.Struct, kw_only=True):
    """POST /api/v1/me/totp: the new secret, shown this once, as text and as the URI an app's QR code holds."""

    secret: str
    uri: str


class TotpConfirmation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """POST /api/v1/me/totp/confirm: a code the authenticator app shows for the new secret."""

    code: TotpCode


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends and every app reads."""
    return pyotp.random_base32(32)


def enrolment(secret: str, email: str) -> TotpEnrolment:
    return TotpEnrolment(secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER))


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code `code` is (current one first, then its neighbours), or None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or not code.isascii():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in sorted(range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1), key=lambda s: abs(s - current)):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
