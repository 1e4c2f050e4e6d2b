"""Password hashes: Argon2id (argon2-cffi's defaults, RFC 9106's second recommendation),
computed in a worker thread so that the event loop serving sockets never waits for
the ~50 ms of memory-hard work a hash takes.

An unknown email is checked against a dummy hash, so that a wrong email takes as
long as a wrong password and the answer time does not tell which accounts exist.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_dummy: str | None = None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(encoded: str, password: str) -> bool:
    try:
        return _hasher.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(encoded: str | None, password: str) -> bool:
    """Whether `password` matches `encoded`; with no hash (an unknown email, a user
    without a password) the work is done all the same and the answer is False."""
    global _dummy
    if encoded is None:
        if _dummy is None:
            _dummy = await hash_password("not the password of anyone")
        await asyncio.to_thread(_verify, _dummy, password)
        return False
    return await asyncio.to_thread(_verify, encoded, password)


def needs_rehash(encoded: str) -> bool:
    """The hash was made with weaker parameters than today's: hash the password again."""
    return _hasher.check_needs_rehash(encoded)
