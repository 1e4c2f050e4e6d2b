"""The test OpenID Connect provider (idp.mjs, panva's oidc-provider under Node.js) as a
real child process on a free loopback port: one per pytest worker, started, waited for,
stopped; each test that asks for it gets it reset (`oidc_provider`)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import free_port

HERE = Path(__file__).resolve().parent
CLIENT_ID = "switchboard"
CLIENT_SECRET = "test-client-secret-of-switchboard"
#: The password of every account of idp.mjs.
PASSWORD = "password"
# Node.js loads oidc-provider's modules at start, in a second or two; under a loaded CI run a
# start hung now and then, so a start gets this long and is tried again.
START_TIMEOUT_S = 30.0
START_ATTEMPTS = 3
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass(frozen=True)
class RunningProvider:
    issuer: str

    async def disable(self, account: str) -> None:
        """The account may no longer sign in: its next refresh is refused."""
        await self._admin(f"/admin/disable/{account}")

    async def reset(self) -> None:
        """For the next test: its client has no redirect URI yet, and no account is disabled."""
        await self._admin("/admin/reset")

    async def allow_redirect(self, uri: str) -> None:
        """Its client may send the browser back to `uri` too."""
        await self._admin("/admin/redirect-uris", {"uri": uri})

    async def _admin(self, path: str, form: dict[str, str] | None = None) -> None:
        async with httpx.AsyncClient(base_url=self.issuer, timeout=10) as http:
            answer = await http.post(path, data=form)
        assert answer.status_code == 204, answer.text


@contextlib.asynccontextmanager
async def running_provider(port: int) -> AsyncIterator[RunningProvider]:
    """The provider at `http://127.0.0.1:<port>`, with one client and no redirect URI yet.
    A start that does not say `ready` in time is stopped and tried again (a few times in a
    loaded CI run the process hung before it listened); what it wrote to stderr is in the error."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Connect provider needs Node.js and `make idp` (npm ci in tests/oidc_provider)")
    failures: list[str] = []
    for _attempt in range(START_ATTEMPTS):
        with tempfile.TemporaryFile() as errors:
            process = await asyncio.create_subprocess_exec(
                node,
                str(HERE / "idp.mjs"),
                str(port),
                CLIENT_SECRET,
                cwd=HERE,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            try:
                assert process.stdout is not None
                try:
                    line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
                except TimeoutError:
                    line = b"(nothing within the deadline)"
                if line.startswith(b"ready "):
                    yield RunningProvider(line.decode().split()[1])
                    return
                errors.seek(0)
                failures.append(f"{line!r}; stderr: {errors.read()[-2000:]!r}")
            finally:
                await stop(process)
    raise AssertionError(f"the provider did not start: {failures}")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


class SingleSignOn:
    """A deployment that signs in through the test provider, and a way to make browsers for it."""

    def __init__(self, sb: Any, provider: RunningProvider) -> None:
        self.sb = sb
        self.provider = provider
        self.base = sb.node.base

    def browser(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=10, follow_redirects=False)

    async def to_provider(self, http: httpx.AsyncClient, next_path: str | None = None) -> httpx.Response:
        """`GET /auth/oidc/login`: its redirect to the provider."""
        answer = await http.get(f"{self.base}/auth/oidc/login", params={"next": next_path} if next_path else None)
        assert answer.status_code == 302, answer.text
        return answer

    async def at_provider(self, http: httpx.AsyncClient, authorization_url: str, account: str) -> str:
        """Signs `account` in at the provider's form; the URL of our callback the provider sends back to."""
        answer = await http.get(authorization_url)
        for _ in range(10):
            if answer.status_code in (302, 303):
                location = answer.headers["location"]
                url = location if location.startswith("http") else self.provider.issuer + location
                if url.startswith(f"{self.base}/auth/oidc/callback"):
                    return url
                answer = await http.get(url)
            elif answer.status_code == 200 and (action := FORM_ACTION.search(answer.text)):
                answer = await http.post(
                    self.provider.issuer + action[1], data={"login": account, "password": PASSWORD}
                )
            else:
                raise AssertionError(f"the provider answered {answer.status_code}: {answer.text[:300]}")
        raise AssertionError("the provider never sent the browser back")

    async def sign_in(self, http: httpx.AsyncClient, account: str, next_path: str | None = None) -> httpx.Response:
        """The whole flow; the callback's answer."""
        start = await self.to_provider(http, next_path)
        return await http.get(await self.at_provider(http, start.headers["location"], account))

    async def me(self, http: httpx.AsyncClient) -> httpx.Response:
        return await http.get(f"{self.base}/api/v1/me")


async def with_provider(make_deployment: Any, provider: RunningProvider, **settings: Any) -> SingleSignOn:
    """A deployment (with a queue `support`, and `settings`) that signs in through the test provider."""
    sb = await make_deployment(
        oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET, **settings
    )
    await sb.queue("support")
    await provider.allow_redirect(f"{sb.node.base}/auth/oidc/callback")
    return SingleSignOn(sb, provider)


@pytest.fixture(scope="session")
async def oidc_provider_process() -> AsyncIterator[RunningProvider]:
    """The worker's provider process."""
    async with running_provider(free_port()) as provider:
        yield provider


@pytest.fixture
async def oidc_provider(oidc_provider_process: RunningProvider) -> RunningProvider:
    """The worker's provider, reset for this test."""
    await oidc_provider_process.reset()
    return oidc_provider_process
