"""The example bot (examples/rule_based_bot/bot.py) as a real child process, for the tests that
talk to it: through the gateway's bot socket, and in Chromium."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BOT_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "rule_based_bot" / "bot.py"
#: the queue field that puts the example bot in front of a queue
SHOP_BOT = {"name": "shop-bot", "display_name": "Shop assistant"}


async def bot_key(sb: Any) -> str:
    """A new API key of scope `bot`."""
    created = await sb.admin("POST", "/api/v1/api-keys", {"name": "Shop bot", "scope": "bot"}, 201)
    key: str = created["key"]
    return key


@contextmanager
def example_bot(bot_url: str, api_key: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Runs the example bot against `bot_url` until the block ends; its log in `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(BOT_SCRIPT), "--url", bot_url, "--api-key", api_key, "--name", SHOP_BOT["name"]],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
