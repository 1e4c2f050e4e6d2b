"""The webhook dispatcher: every node runs one, with two tasks.

The reader reads the lifecycle events stream in the consumer group `webhooks`
as consumer <node id> and fans what it read out into per-webhook delivery jobs
(`WebhookStore.fan_out`, one atomic step that also acknowledges the entries).
Now and then it takes over entries that another consumer read long ago without
acknowledging them (its node died before fanning them out), and forgets
consumers of nodes that are gone.

The sender leases the head delivery of due lanes (one in flight per lane,
cluster-wide), POSTs each, and records the outcome: delivered, retry later
(exponential backoff) or dead letter. Deliveries of one webhook never wait for
another webhook's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

import httpx

from ..background import Background
from ..domain import webhooks as domain
from ..domain.errors import SwitchboardError
from ..settings import Settings
from ..store.clock import now_ms
from ..store.webhooks import Job, NoGroup, WebhookStore
from .outbound import outbound_client

log = logging.getLogger(__name__)

#: Deliveries one node has in flight at most (each on its own lane).
MAX_IN_FLIGHT = 64
#: Entries one read takes at most.
READ_BATCH = 200
#: On stop, deliveries in flight get this long to finish before they are cut.
STOP_GRACE_S = 1.0
USER_AGENT = "Switchboard-Webhooks/1"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class WebhookDispatcher(Background):
    def __init__(self, store: WebhookStore, settings: Settings) -> None:
        self._store = store
        self._node_id = settings.node_id
        self._timeout_s = settings.webhook_timeout_s
        self._allow_private = settings.webhook_allow_private
        self._base_s = settings.webhook_retry_base_s
        self._cap_s = settings.webhook_retry_max_s
        self._jitter = settings.webhook_retry_jitter
        self._max_attempts = settings.webhook_max_attempts
        claim_idle_ms = int(settings.webhook_claim_idle_s * 1000)
        self._claim_idle_ms = claim_idle_ms
        # A lease outlasts the longest attempt; a node silent for longer is taken as dead.
        self._lease_ms = int(settings.webhook_timeout_s * 1000) + claim_idle_ms
        self._block_ms = max(50, min(1000, claim_idle_ms // 2))
        self._claim_every_s = max(0.05, min(15.0, claim_idle_ms / 2000))
        self._forget_idle_ms = max(60_000, 4 * claim_idle_ms)
        self._tick_s = settings.timer_tick_s
        self._in_flight: dict[asyncio.Task[None], Job] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # a receiver inside one's own network only when the deployment says so
        self._client = outbound_client(self._timeout_s, self._allow_private, USER_AGENT, MAX_IN_FLIGHT)
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="webhook-reader"),
            asyncio.create_task(self._send_loop(), name="webhook-sender"),
        ]

    async def stop(self, release: bool = True) -> None:
        """Stops reading and sending. Deliveries in flight get a short grace, then are
        cut; with `release` their lanes are handed back at once (another node sends
        them again now), else their leases run out as after a crash."""
        if self._stopping.is_set() or not self._tasks:
            return
        self._stopping.set()
        self._wake.set()
        reader, sender = self._tasks
        reader.cancel()
        await asyncio.gather(reader, sender, return_exceptions=True)
        cut: list[Job] = []
        if self._in_flight:
            _, pending = await asyncio.wait(list(self._in_flight), timeout=STOP_GRACE_S)
            cut = [self._in_flight[t] for t in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if release:
            with contextlib.suppress(SwitchboardError):
                released = await self._store.release(cut, now_ms())
                if released:
                    log.info("handed back %d webhook deliveries in flight", released)
                await self._store.forget_consumers(self._forget_idle_ms, self._node_id)
        if self._client is not None:
            await self._client.aclose()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # ------------------------------------------------------------ reading

    async def _fan_out(self, upto: str) -> None:
        if await self._store.fan_out(upto, now_ms()):
            self._wake.set()

    async def _read_loop(self) -> None:
        next_claim = 0.0
        outage = False
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_claim:
                    next_claim = time.monotonic() + self._claim_every_s
                    claimed = await self._store.claim(self._node_id, self._claim_idle_ms)
                    if claimed:
                        log.info("took over webhook events up to %s from a silent node", claimed)
                        await self._fan_out(claimed)
                    await self._store.forget_consumers(self._forget_idle_ms)
                newest = await self._store.read(self._node_id, READ_BATCH, self._block_ms)
                if newest:
                    await self._fan_out(newest)
                if outage:
                    log.info("webhook events are read again")
                outage = False
            except NoGroup:  # no webhook yet: look again later
                await self._pause(self._block_ms / 1000)
            except SwitchboardError as exc:
                if not outage:
                    log.warning("webhook events not read: %s", exc.message)
                outage = True
                await self._pause(1.0)
            except Exception:
                log.exception("reading webhook events failed")
                await self._pause(1.0)

    # ------------------------------------------------------------ sending

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()  # a slot is free, and the lane's next delivery may be due

    async def _send_loop(self) -> None:
        outage = False
        while not self._stopping.is_set():
            self._wake.clear()
            free = MAX_IN_FLIGHT - len(self._in_flight)
            if free > 0:
                try:
                    jobs = await self._store.take(now_ms(), self._lease_ms, free)
                    outage = False
                except SwitchboardError as exc:
                    if not outage:
                        log.warning("webhook deliveries paused: %s", exc.message)
                    outage = True
                    jobs = []
                except Exception:
                    log.exception("taking webhook deliveries failed")
                    jobs = []
                for job in jobs:
                    task = asyncio.create_task(self._deliver(job), name=f"webhook-{job.delivery_id}")
                    self._in_flight[task] = job
                    task.add_done_callback(self._finished)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._tick_s)

    async def _post(self, job: Job) -> tuple[int | None, str]:
        """Sends one attempt; the answer's status, or an error text."""
        if self._client is None:
            raise RuntimeError("the dispatcher is not started")
        timestamp = int(time.time())
        headers = domain.request_headers(job.secret, job.delivery_id, timestamp, job.body)
        status: int | None = None
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._client.stream("POST", job.url, content=job.body, headers=headers) as response:
                    status = response.status_code
                    read = 0
                    with contextlib.suppress(httpx.HTTPError):
                        async for chunk in response.aiter_raw():  # a little, never all of it
                            read += len(chunk)
                            if read >= domain.RESPONSE_READ_LIMIT:
                                break
        except TimeoutError:
            if status is None:
                return None, f"timed out after {self._timeout_s:g} s"
        except (httpx.HTTPError, OSError) as exc:
            if status is None:
                return None, _describe(exc)
        if 200 <= status < 300:
            return status, ""
        if 300 <= status < 400:
            return status, f"HTTP {status} (redirects are not followed)"
        return status, f"HTTP {status}"

    async def _deliver(self, job: Job) -> None:
        try:
            status, error = await self._post(job)
        except Exception as exc:  # never let one delivery's surprise kill the lane
            log.exception("webhook %s: delivery %s failed unexpectedly", job.webhook_id, job.delivery_id)
            status, error = None, _describe(exc)
        attempts = job.attempts + 1
        now = now_ms()
        retry_at = 0
        if not error:
            outcome = "ok"
        elif attempts >= self._max_attempts:
            outcome = "dead"
        else:
            outcome = "retry"
            delay = domain.retry_delay_s(attempts, self._base_s, self._cap_s, self._jitter, random.random())
            retry_at = now + int(delay * 1000)
        try:
            result = await self._store.finish(job, outcome, status, error, attempts, retry_at, now)
        except SwitchboardError as exc:  # the lease runs out and the delivery is sent again
            log.warning("webhook %s: outcome of %s not recorded: %s", job.webhook_id, job.delivery_id, exc.message)
            return
        if result == "dead":
            log.warning(
                "webhook %s: delivery %s is a dead letter after %d attempts (%s)",
                job.webhook_id,
                job.delivery_id,
                attempts,
                error,
            )
        elif result == "retry":
            log.debug("webhook %s: delivery %s failed (%s); retrying", job.webhook_id, job.delivery_id, error)
