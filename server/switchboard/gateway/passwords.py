"""Password hashes: Argon2id (argon2-cffi's defaults, RFC 9106's second recommendation),
computed in worker threads so that the event loop serving sockets never waits for
the ~50 ms of memory-hard work a hash takes. The threads are their own, and two: each
hash takes 64 MiB, so a burst of sign-ins waits its turn instead of taking memory
and every thread of the loop's default executor (DNS lookups use those).

An unknown email is checked against a dummy hash, so that a wrong email takes as
long as a wrong password and the answer time does not tell which accounts exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
_dummy: str | None = None
T = TypeVar("T")


async def _off_loop(work: Callable[..., T], *args: str) -> T:
    return await asyncio.get_running_loop().run_in_executor(_threads, work, *args)


async def hash_password(password: str) -> str:
    return await _off_loop(_hasher.hash, password)


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
        await _off_loop(_verify, _dummy, password)
        return False
    return await _off_loop(_verify, encoded, password)


def needs_rehash(encoded: str) -> bool:
    """The hash was made with weaker parameters than today's: hash the password again."""
    return _hasher.check_needs_rehash(encoded)
