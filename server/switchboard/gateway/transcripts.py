"""The customer's transcript by email (`request_transcript`): the messages it saw, to the
address it gives or the one it gave for the chat, through the mail server of
`SWITCHBOARD_SMTP_URL`, a few times an hour at most."""

from __future__ import annotations

from typing import Any

from ..domain.config import QueueConfig
from ..domain.errors import ErrorCode, SwitchboardError
from ..domain.transcript import LOOSE_EMAIL, TRANSCRIPT_WINDOW_S, TRANSCRIPTS_PER_WINDOW, transcript_text
from ..store.directory import Directory
from ..store.router import Router
from ..store.transcripts import TranscriptRequests
from .outbound_mail import Mail, Mailer


class TranscriptMail:
    def __init__(self, router: Router, directory: Directory, requests: TranscriptRequests, mailer: Mailer) -> None:
        self._router = router
        self._directory = directory
        self._requests = requests
        self._mailer = mailer

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
