"""Loads the Lua transitions into Redis as Functions libraries and calls them by FCALL.

Why libraries and not EVAL scripts: an EVAL script runs its whole chunk on every
call, so every routing step rebuilt the routing prelude's hundred-odd helper
closures before doing any work (about 45 us of the Redis core per call, and the
garbage to sweep). A library runs its chunk once, at FUNCTION LOAD; a call runs
only its function.

Three libraries, each named after the hash of its code so that nodes of two
versions can share a Redis during an upgrade (each calls its own functions):

- routing: the `_apply.lua` and `_lib.lua` preludes, then every routing script's
  body as a function that calls `begin(KEYS, ARGV)` first (the prelude's
  per-call state);
- webhooks: the `_webhooks.lua` prelude and the `webhook_*` scripts;
- conversation: the scripts that touch one conversation's keys (the message
  path) or one small structure, with `_apply.lua`.

A Redis that lacks a library (a fresh one, one restarted without persistence, a
new Cluster shard) answers "Function not found"; the caller loads the library
there and calls again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from .batching import batcher_for

#: Scripts that do not take the routing prelude: the ones that work on one
#: conversation's keys only, the search index's writer, and the cap checks of
#: canned responses and invite rules.
STANDALONE = frozenset({"message", "relay", "conversation_apply", "search_add", "put_canned", "put_invite_rule"})

#: library -> its preludes, and whether its functions call the prelude's `begin` first
PRELUDES = {
    "routing": (["_apply", "_lib"], True),
    "webhooks": (["_webhooks"], True),
    "conversation": (["_apply"], False),
}


def _source(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


def script_names() -> list[str]:
    folder = resources.files(__package__).joinpath("lua")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".lua") and not p.name.startswith("_"))


def library_of(script: str) -> str:
    if script.startswith("webhook_"):
        return "webhooks"
    return "conversation" if script in STANDALONE else "routing"


class Library:
    """The code of one library and the function name of each of its scripts."""

    def __init__(self, name: str) -> None:
        preludes, begins = PRELUDES[name]
        scripts = [s for s in script_names() if library_of(s) == name]
        parts = [_source(prelude) for prelude in preludes]
        start = "begin(KEYS, ARGV)" if begins else ""
        bodies = [(script, f"function(KEYS, ARGV) {start}\n{_source(script)}\nend") for script in scripts]
        version = hashlib.sha1("\n".join([*parts, *(b for _, b in bodies)]).encode()).hexdigest()[:12]
        self.name = f"switchboard_{name}_{version}"
        self.functions = {script: f"sb_{version}_{script}" for script in scripts}
        registered = [f"redis.register_function('{self.functions[s]}', {body})" for s, body in bodies]
        self.code = "\n".join([f"#!lua name={self.name}", *parts, *registered]) + "\n"


@cache
def library(name: str) -> Library:
    return Library(name)


def _every_primary(redis: Redis | RedisCluster) -> list[dict[str, Any]]:
    """Keyword arguments that send a command to each primary of a cluster (the
    libraries live on every shard), or once to a single Redis."""
    if isinstance(redis, RedisCluster):
        return [{"target_nodes": node} for node in redis.get_primaries()]
    return [{}]


async def load_library(redis: Redis | RedisCluster, lib: Library) -> None:
    """FUNCTION LOAD on the Redis (on a cluster, on every primary); a library of
    this name is this very code, so "already exists" is success."""
    for target in _every_primary(redis):
        try:
            await redis.execute_command("FUNCTION LOAD", lib.code, **target)
        except ResponseError as exc:
            if "already exists" not in str(exc):
                raise


async def remove_other_versions(redis: Redis | RedisCluster) -> list[str]:
    """Deletes the Switchboard libraries of other versions (a node of an older
    version that still runs loads its own again on its next call, see Transition).
    Returns the names deleted."""
    ours = {library(name).name for name in PRELUDES}
    removed: list[str] = []
    for target in _every_primary(redis):
        listed = await redis.execute_command("FUNCTION LIST", "LIBRARYNAME", "switchboard_*", **target)
        for entry in listed or []:
            fields = dict(zip(entry[::2], entry[1::2], strict=False))
            name = fields.get(b"library_name", fields.get("library_name"))
            name = name.decode() if isinstance(name, bytes) else name
            if name and name.startswith("switchboard_") and name not in ours:
                with contextlib.suppress(ResponseError):  # another node deleted it first
                    await redis.execute_command("FUNCTION DELETE", name, **target)
                    removed.append(name)
    return removed


class Transition:
    """One Lua transition: `await transition(keys=[...], args=[...])` calls its
    function, loading the library first where Redis does not have it."""

    __slots__ = ("batcher", "function", "lib", "redis")

    def __init__(self, redis: Redis | RedisCluster, script: str) -> None:
        self.redis = redis
        self.lib = library(library_of(script))
        self.function = self.lib.functions[script]
        self.batcher = batcher_for(redis)

    async def _fcall(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        if self.batcher is None:
            return await self.redis.fcall(self.function, len(keys), *keys, *args)
        return await self.batcher.call("FCALL", self.function, len(keys), *keys, *args)

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return await self._fcall(keys, args)
        except ResponseError as exc:
            if "Function not found" not in str(exc):
                raise
        await load_library(self.redis, self.lib)
        return await self._fcall(keys, args)


def load_scripts(redis: Redis | RedisCluster) -> dict[str, Transition]:
    return {name: Transition(redis, name) for name in script_names()}
