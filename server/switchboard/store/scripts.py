"""Loads the Lua transitions once; each runs by EVALSHA (redis-py reloads it on NOSCRIPT)."""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

#: Scripts that do not take the routing prelude: the ones that work on one
#: conversation's keys only, the search index's writer, and the cap checks of
#: canned responses and invite rules.
STANDALONE = frozenset({"message", "relay", "conversation_apply", "search_add", "put_canned", "put_invite_rule"})


def _source(name: str) -> str:
    return resources.files(__package__).joinpath("lua", f"{name}.lua").read_text("utf-8")


def script_names() -> list[str]:
    folder = resources.files(__package__).joinpath("lua")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".lua") and not p.name.startswith("_"))


def script_source(name: str) -> str:
    body = _source(name)
    if name.startswith("webhook_"):  # the webhook steps have a prelude of their own
        return _source("_webhooks") + "\n" + body
    return body if name in STANDALONE else _source("_lib") + "\n" + body


def load_scripts(redis: Redis) -> dict[str, AsyncScript]:
    return {name: redis.register_script(script_source(name)) for name in script_names()}
