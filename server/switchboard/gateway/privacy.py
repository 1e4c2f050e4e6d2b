"""Erasure, export and redaction across both stores: Redis holds the live work, PostgreSQL the record.

Each first removes what Redis holds (so the archive has nothing left to bring
back), then what PostgreSQL keeps; PostgreSQL remembers erased visitors and
redacted messages, so a copy already on its way is dropped or redacted when
it arrives.
"""

from __future__ import annotations

from typing import Any

from ..record.attachments import AttachmentFiles
from ..record.privacy import Privacy
from ..store.clock import now_ms
from ..store.directory import Directory
from ..store.router import Router

#: Who the audit trail names for the admin token in these records (others: gateway/http/principals.py).
ADMIN = "admin"


class PrivacyRequests:
    def __init__(self, router: Router, directory: Directory, record: Privacy) -> None:
        self.router = router
        self.directory = directory
        self.record = record

    async def erase_visitor(self, vid: str, actor: str = ADMIN) -> int:
        """Erases the visitor everywhere; how many conversations went. Idempotent."""
        cids = await self.router.erase_visitor(vid)
        return await self.record.erase_visitor(vid, cids, actor)

    async def export_visitor(self, vid: str, actor: str = ADMIN) -> dict[str, Any] | None:
        """One document with everything kept about the visitor, live or archived; None when nothing is."""
        now = now_ms()
        exported = await self.record.export_visitor(vid, actor, now)
        live_ids = await self.directory.visitor_conversation_ids(vid)
        if exported is None and not live_ids:
            return None
        if exported is None:
            exported = {"visitor": {"visitor_id": vid}, "conversations": [], "web_sessions": [], "page_views": []}
        exported["attachments"] = await AttachmentFiles(self.record.database).export_of_visitor(vid)
        by_id = {c["conversation_id"]: i for i, c in enumerate(exported["conversations"])}
        for cid in live_ids:
            live = await self.directory.conversation(cid)
            if live is None:
                continue  # it left Redis: the record's copy is complete
            entry = {
                "conversation_id": cid,
                "sessions": live["sessions"],
                "messages": live["messages"],
                "notes": live["notes"],
                "events": live["events"],
            }
            if cid in by_id:  # the live copy is the newer one
                exported["conversations"][by_id[cid]].update(entry)
            else:
                exported["conversations"].append(entry)
        return exported

    async def redact_message(self, cid: str, seq: int, actor: str = ADMIN) -> bool:
        """Redacts history entry `seq` everywhere, the file of an attachment too; False when neither store has it."""
        at = now_ms()
        files = AttachmentFiles(self.record.database)
        attachment = await self._attachment_of(cid, seq) or await files.of_message(cid, seq)
        live = await self.router.redact_message(cid, seq, actor, at)
        if live is None and not await self.record.message_exists(cid, seq):
            return False
        await self.record.redact_message(cid, seq, actor, at)
        if attachment:
            await files.forget(attachment)
        return True

    async def _attachment_of(self, cid: str, seq: int) -> str | None:
        """The id of the file history entry `seq` names, as Redis holds it (None: not there, or no file)."""
        for frame in await self.router.history(cid, seq - 1, audience="agents", limit=1):
            attachment = frame.get("attachment") if frame.get("seq") == seq else None
            if isinstance(attachment, dict) and isinstance(attachment.get("id"), str):
                return str(attachment["id"])
        return None
