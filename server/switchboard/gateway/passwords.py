"""Password hashes: Argon2id, by default with argon2-cffi's parameters (RFC 9106's second
recommendation: 64 MiB, three passes), computed in worker threads so that the event loop
serving sockets never waits for the memory-hard work a hash takes. The threads are their
own, and two: each hash takes its memory, so a burst of sign-ins waits its turn instead
of taking memory and every thread of the loop's default executor (DNS lookups use those).

The memory and the passes are settings: a deployment may raise them, and raising them
makes each user's hash stronger at its next sign-in (`needs_rehash`); the tests lower them.

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

T = TypeVar("T")


class Passwords:
    def __init__(self, memory_kib: int, passes: int) -> None:
        self._hasher = PasswordHasher(time_cost=passes, memory_cost=memory_kib)
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")
        self._dummy: str | None = None

    async def _off_loop(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)

    async def hash(self, password: str) -> str:
        return await self._off_loop(self._hasher.hash, password)

    def _verify(self, encoded: str, password: str) -> bool:
        try:
            return self._hasher.verify(encoded, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, encoded: str | None, password: str) -> bool:
        """Whether `password` matches `encoded`; with no hash (an unknown email, a user
        without a password) the work is done all the same and the answer is False."""
        if encoded is None:
            if self._dummy is None:
                self._dummy = await self.hash("not the password of anyone")
            await self._off_loop(self._verify, self._dummy, password)
            return False
        return await self._off_loop(self._verify, encoded, password)

    def needs_rehash(self, encoded: str) -> bool:
        """The hash was made with other parameters than today's: hash the password again."""
        return self._hasher.check_needs_rehash(encoded)
