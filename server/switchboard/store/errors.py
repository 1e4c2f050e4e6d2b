"""What a lost Redis looks like, and the one wrapper that turns it into the domain's `unavailable`."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from types import TracebackType
from typing import Any

from redis import exceptions as redis_errors

from ..domain.errors import ErrorCode, SwitchboardError

STORE_ERRORS = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    OSError,
    # Redis Cluster, while a shard fails over or slots move (after redis-py's own retries)
    redis_errors.ClusterDownError,
    redis_errors.TryAgainError,
    redis_errors.SlotNotCoveredError,
)


_REDIS_PACKAGE = Path(redis_errors.__file__).parent


def _broken_connection_inside_redis_py(exc: BaseException) -> bool:
    """redis-py's cluster pipeline, while a shard fails over, may write on a connection
    that another task has just torn down: an AttributeError (`None.writelines`) raised
    inside redis-py itself. That is a lost connection too; the same error raised in our
    own code is a bug and goes on as one."""
    if not isinstance(exc, AttributeError) or exc.__traceback__ is None:
        return False
    frame = exc.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return Path(frame.tb_frame.f_code.co_filename).is_relative_to(_REDIS_PACKAGE)


def unavailable(exc: BaseException) -> SwitchboardError:
    return SwitchboardError(ErrorCode.UNAVAILABLE, f"the store is unreachable ({type(exc).__name__})")


class _StoreCall:
    """`with store_call:` around Redis calls raises `unavailable` for any of `STORE_ERRORS`.

    A plain context manager (no generator, no state): a fraction of a microsecond
    a call on the routing hot path, against a round trip to Redis; one shared
    instance serves every task.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is not None and (isinstance(exc, STORE_ERRORS) or _broken_connection_inside_redis_py(exc)):
            raise unavailable(exc) from exc


store_call = _StoreCall()


async def call(awaitable: Awaitable[Any]) -> Any:
    """`store_call` around one awaited Redis call, for use in an expression. Any:
    redis-py's asyncio client is typed with its synchronous client's replies."""
    with store_call:
        return await awaitable


class ConversationEnded(SwitchboardError):
    """A customer wrote into an ended session; the caller opens a new one."""

    def __init__(self) -> None:
        super().__init__(ErrorCode.CONFLICT, "the session has ended")
