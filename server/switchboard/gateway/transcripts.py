"""The customer's transcript by email (`request_transcript`): the messages it saw, to the
address it gives or the one it gave for the chat, through the mail server of
`SWITCHBOARD_SMTP_URL`, a few times an hour at most. A queue with `send_transcript:
"always"` sends it by itself when a chat ends: every node reads the `session.ended`
events in one consumer group (each event once; one a dead node read is taken over),
and a session's transcript goes once however often its event is read."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from ..background import Background, cancel_and_wait
from ..domain.config import QueueConfig
from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.states import LifecycleEvent
from ..domain.transcript import LOOSE_EMAIL, TRANSCRIPT_WINDOW_S, TRANSCRIPTS_PER_WINDOW, transcript_text
from ..settings import Settings
from ..store.directory import Directory
from ..store.router import Router
from ..store.transcripts import EndedSessions, TranscriptRequests
from .outbound_mail import Mail, Mailer

log = logging.getLogger(__name__)

#: Events one read takes at most, and how long it waits for the first.
READ_BATCH = 100
READ_BLOCK_MS = 1000
#: An event another node read this long ago without acknowledging it is taken over.
CLAIM_IDLE_MS = 60_000
CLAIM_EVERY_S = 30.0


class TranscriptMail:
    """Sends a conversation's transcript, as the customer saw it, by email."""

    def __init__(self, router: Router, directory: Directory, requests: TranscriptRequests, mailer: Mailer) -> None:
        self._router = router
        self._directory = directory
        self._requests = requests
        self._mailer = mailer

    @property
    def configured(self) -> bool:
        return self._mailer.configured

    async def send(self, cid: str, email: str | None, sender_host: str) -> dict[str, Any]:
        if not self._mailer.configured:
            raise SwitchboardError(ErrorCode.UNAVAILABLE, "transcripts by email are not set up here")
        conversation = await self._directory.conversation(cid)
        if conversation is None:
            raise SwitchboardError(ErrorCode.NOT_FOUND, "no such conversation")
        card = conversation["card"]
        config = await self._directory.queue_config(card["queue"]["id"])
        if config is not None and not sends_transcripts(config):
            raise SwitchboardError(ErrorCode.FORBIDDEN, "this queue sends no transcripts")
        address = (email or card["customer"].get("email") or "").strip()
        if not LOOSE_EMAIL.match(address):
            raise SwitchboardError(ErrorCode.BAD_REQUEST, "an email address is needed")
        if await self._requests.count(cid, TRANSCRIPT_WINDOW_S) > TRANSCRIPTS_PER_WINDOW:
            raise SwitchboardError(ErrorCode.RATE_LIMITED, "enough transcripts for now; try again later")
        events = await self._router.history(cid, 0, audience="customer")
        mail = Mail(
            to_name=card["customer"].get("name") or "",
            to_address=address,
            subject=f"Your conversation with {card['queue']['name']}",
            text=f"Here is your conversation with {card['queue']['name']}.\n\n{transcript_text(events)}",
        )
        outcome = await self._mailer.send(mail, sender_host)
        if not outcome.sent:
            raise SwitchboardError(ErrorCode.UNAVAILABLE, "the transcript could not be sent; try again later")
        return {"emailed": True}


def sends_transcripts(config: QueueConfig) -> bool:
    return config.send_transcript != "never"


def customer_email(card: dict[str, Any], config: QueueConfig) -> str | None:
    """The email the customer gave for the chat (or the one verified for it), else the value
    of the queue's pre-chat field of type email; None when there is none."""
    given = str(card.get("customer", {}).get("email") or "").strip()
    if given:
        return given
    attributes = card.get("attributes") or {}
    for field in config.prechat_fields:
        value = str(attributes.get(field.name) or "").strip()
        if field.type == "email" and value:
            return value
    return None


class TranscriptsAtTheEnd(Background):
    """Sends the transcript of each ended chat of a `send_transcript: "always"` queue."""

    def __init__(self, ended: EndedSessions, directory: Directory, mail: TranscriptMail, settings: Settings) -> None:
        self._ended = ended
        self._directory = directory
        self._mail = mail
        self._consumer = settings.node_id
        public = settings.public_url
        self._sender_host = (urlsplit(public).hostname if public else None) or "localhost"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._mail.configured:  # without a mail server there is nothing to send
            self._task = asyncio.create_task(self._read_loop(), name="transcripts-at-the-end")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _read_loop(self) -> None:
        joined = False
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not joined:
                    await self._ended.join()
                    joined = True
                entries = []
                if loop.time() >= next_claim:
                    next_claim = loop.time() + CLAIM_EVERY_S
                    entries = await self._ended.claim(self._consumer, CLAIM_IDLE_MS, READ_BATCH)
                entries += await self._ended.read(self._consumer, READ_BATCH, READ_BLOCK_MS)
                for _, event in entries:
                    await self._handle(event)
                await self._ended.done([eid for eid, _ in entries])
            except SwitchboardError as exc:  # the store is away: try again in a moment
                log.warning("ended chats not read for their transcripts: %s", exc.message)
                await asyncio.sleep(1.0)
            except Exception:
                log.exception("reading ended chats for their transcripts failed")
                await asyncio.sleep(1.0)

    async def _handle(self, event: dict[str, Any]) -> None:
        if event.get("type") != LifecycleEvent.SESSION_ENDED:
            return
        cid, sid = str(event.get("conversation_id") or ""), str(event.get("session_id") or "")
        conversation = await self._directory.conversation(cid) if cid and sid else None
        if conversation is None:
            return
        card = conversation["card"]
        config = await self._directory.queue_config(card["queue"]["id"])
        if config is None or config.send_transcript != "always":
            return
        address = customer_email(card, config)
        if address is None or not LOOSE_EMAIL.match(address) or not await self._ended.first_send(sid):
            return
        try:
            await self._mail.send(cid, address, self._sender_host)
        except SwitchboardError as exc:  # the mail server refused it or is away: the chat is over either way
            log.warning("the transcript of %s did not go to the customer: %s", cid, exc.message)
