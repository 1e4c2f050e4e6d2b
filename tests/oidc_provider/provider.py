"""The test OpenID Connect provider (idp.mjs, panva's oidc-provider under Node.js) as a
real child process on a free loopback port: started, waited for, stopped."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).resolve().parent
CLIENT_ID = "switchboard"
CLIENT_SECRET = "test-client-secret-of-switchboard"
#: The password of every account of idp.mjs.
PASSWORD = "password"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningProvider:
    issuer: str

    def settings(self) -> dict[str, str]:
        """What a node needs to sign in through this provider."""
        return {"oidc_issuer": self.issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET}

    async def disable(self, account: str) -> None:
        """The account may no longer sign in: its next refresh is refused."""
        async with httpx.AsyncClient(base_url=self.issuer, timeout=10) as http:
            answer = await http.post(f"/admin/disable/{account}")
        assert answer.status_code == 204, answer.text


@contextlib.asynccontextmanager
async def running_provider(port: int, redirect_uri: str) -> AsyncIterator[RunningProvider]:
    """The provider at `http://127.0.0.1:<port>`, with a client whose one redirect URI is `redirect_uri`."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Connect provider needs Node.js and `make idp` (npm ci in tests/oidc_provider)")
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "idp.mjs"),
        str(port),
        redirect_uri,
        CLIENT_SECRET,
        cwd=HERE,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        assert line.startswith(b"ready "), f"the provider did not start: {line!r}"
        yield RunningProvider(line.decode().split()[1])
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
