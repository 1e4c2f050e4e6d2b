"""Webhook bots: a queue's `bot: {url, secret}` gets each customer message of its bot stage as a
signed POST (Standard Webhooks, as gateway/webhooks.py signs, through the same guard against
private addresses and with the same timeout) and answers `{replies, handoff?}`, applied here.

A bot that fails (no answer in time, a status other than 2xx, an answer that is not such a
document) hands the chat to its queue: the customer is never left talking to nobody. One
conversation's messages are sent one after the other, so its replies come in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx
import msgspec

from ..background import Background
from ..domain import webhooks as signing
from ..domain.bots import FAILED_SUMMARY, BotConfig, WebhookBotAnswer
from ..domain.errors import SwitchboardError
from ..domain.frames import message_content
from ..settings import Settings
from ..store.directory import Directory
from ..store.router import Router
from .outbound import outbound_client

log = logging.getLogger(__name__)

#: Conversations whose bot is being asked at once, on one node; more are handed to their queues.
MAX_IN_FLIGHT = 256
#: The most of an answer that is read: ten replies of rich messages fit well within it.
ANSWER_LIMIT = 256 * 1024
USER_AGENT = "Switchboard-Bots/1"


class BotFailed(Exception):
    """The webhook bot gave no usable answer."""


class WebhookBots(Background):
    def __init__(self, router: Router, directory: Directory, settings: Settings) -> None:
        self._router = router
        self._directory = directory
        self._timeout_s = settings.webhook_timeout_s
        self._allow_private = settings.webhook_allow_private
        self._text_limit = settings.agent_text_limit
        self._client: httpx.AsyncClient | None = None
        #: the last task asking the bot of each conversation: the next one waits for it
        self._latest: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._client = outbound_client(self._timeout_s, self._allow_private, USER_AGENT, max_connections=64)

    async def stop(self) -> None:
        tasks = list(self._latest.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def customer_wrote(self, cid: str, seq: int) -> None:
        """Asks the conversation's webhook bot about the customer's message `seq`, in the background."""
        previous = self._latest.get(cid)
        if previous is None and len(self._latest) >= MAX_IN_FLIGHT:
            log.warning("conversation %s: too many bots asked at once, handed to its queue", cid)
            task = asyncio.create_task(self._hand_on(cid), name=f"bot-webhook-{cid}")
        else:
            task = asyncio.create_task(self._ask_after(previous, cid, seq), name=f"bot-webhook-{cid}")
        self._latest[cid] = task
        task.add_done_callback(lambda done: self._finished(cid, done))

    def _finished(self, cid: str, task: asyncio.Task[None]) -> None:
        if self._latest.get(cid) is task:
            del self._latest[cid]

    async def _ask_after(self, previous: asyncio.Task[None] | None, cid: str, seq: int) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await previous
        try:
            await self._ask(cid, seq)
        except BotFailed as failed:
            log.warning("conversation %s: its webhook bot failed (%s), handed to its queue", cid, failed)
            await self._hand_on(cid)
        except SwitchboardError as exc:  # the chat left the bot stage meanwhile, or the store is away
            log.info("conversation %s: the webhook bot's answer not applied: %s", cid, exc.message)
        except Exception:  # a fault here must not leave the customer talking to nobody
            log.exception("conversation %s: asking its webhook bot failed; handed to its queue", cid)
            await self._hand_on(cid)

    async def _hand_on(self, cid: str) -> None:
        with contextlib.suppress(SwitchboardError):  # it left the bot stage already
            await self._router.handoff(cid, "", FAILED_SUMMARY)

    async def _ask(self, cid: str, seq: int) -> None:
        bot = await self._bot_of(cid)
        if bot is None or bot.url is None or bot.secret is None:
            return
        sid = await self._directory.current_session(cid)
        said = await self._router.history(cid, seq - 1, audience="customer", limit=1)
        if sid is None or not said:
            return
        card = (await self._router.session_cards([sid]))[0]
        body = msgspec.json.encode(
            {
                "type": "bot.message",
                "conversation_id": cid,
                "session_id": sid,
                "queue": card["queue"]["id"],
                "customer": card.get("customer") or {},
                "attributes": card.get("attributes") or {},
                "message": said[0],
            }
        )
        answer = await self._post(bot.url, bot.secret, f"{cid}.{seq}", body)
        await self._apply(cid, bot, answer)

    async def _bot_of(self, cid: str) -> BotConfig | None:
        queue, _ = await self._directory.conversation_route(cid)
        config = await self._directory.queue_config(queue) if queue else None
        return config.bot if config is not None else None

    async def _post(self, url: str, secret: str, delivery: str, body: bytes) -> WebhookBotAnswer:
        if self._client is None:
            raise RuntimeError("the webhook bots are not started")
        headers = signing.request_headers(secret, delivery, int(time.time()), body)
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._client.stream("POST", url, content=body, headers=headers) as response:
                    if not 200 <= response.status_code < 300:
                        raise BotFailed(f"HTTP {response.status_code}")
                    answer = b""
                    async for chunk in response.aiter_bytes():
                        answer += chunk
                        if len(answer) > ANSWER_LIMIT:
                            raise BotFailed(f"an answer over {ANSWER_LIMIT} bytes")
        except TimeoutError:
            raise BotFailed(f"no answer within {self._timeout_s:g} s") from None
        except (httpx.HTTPError, OSError) as exc:
            raise BotFailed(type(exc).__name__) from None
        try:
            return msgspec.json.decode(answer or b"{}", type=WebhookBotAnswer)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise BotFailed(f"a bad answer: {str(exc)[:200]}") from None

    async def _apply(self, cid: str, bot: BotConfig, answer: WebhookBotAnswer) -> None:
        if not await self._router.in_webhook_bot_stage(cid):
            return  # the customer asked for a person meanwhile: the bot's late words stay out
        for reply in answer.replies:
            text, extras = message_content(reply.text, reply.rich, self._text_limit)
            await self._router.post_message(cid, "bot", "", bot.display_name, text, extras=extras)
        if answer.handoff is not None:
            handoff = answer.handoff
            await self._router.handoff(cid, "", handoff.summary or "", handoff.attributes)
