"""The files of conversations, kept in PostgreSQL (table `attachments`, migration 0004).

Written on the upload request (not the live message path: the message that names
the file goes through Redis as any other); read by the signed download URLs;
deleted with their conversation by retention and erasure; exported with the
visitor's data.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import asyncpg

from ..domain.attachments import MediaType
from .database import Database, ms


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str
    conversation_id: str
    visitor_id: str
    uploaded_by: str
    name: str
    media_type: MediaType
    size: int
    content: bytes
    thumbnail: bytes | None


@dataclass(frozen=True, slots=True)
class Download:
    """What a download serves: the bytes of the file or its thumbnail, and how to label them."""

    name: str
    media_type: str
    content: bytes


Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


class AttachmentFiles:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def put(self, stored: StoredFile) -> None:
        async with self.database.pool.acquire() as connection:
            await connection.execute(
                "INSERT INTO attachments (id, conversation_id, visitor_id, uploaded_by, name, media_type, size,"
                " content, thumbnail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                stored.id,
                stored.conversation_id,
                stored.visitor_id,
                stored.uploaded_by,
                stored.name,
                stored.media_type.value,
                stored.size,
                stored.content,
                stored.thumbnail,
            )

    async def forget(self, attachment_id: str) -> None:
        """A file whose message could not be added (the session ended meanwhile) goes again."""
        async with self.database.pool.acquire() as connection:
            await connection.execute("DELETE FROM attachments WHERE id = $1", attachment_id)

    async def of_message(self, cid: str, seq: int) -> str | None:
        """The id of the file that message `seq` names, as PostgreSQL keeps the message."""
        async with self.database.pool.acquire() as connection:
            found: str | None = await connection.fetchval(
                "SELECT frame->'attachment'->>'id' FROM messages WHERE conversation_id = $1 AND seq = $2", cid, seq
            )
        return found

    async def download(self, attachment_id: str, thumbnail: bool) -> Download | None:
        column = "thumbnail" if thumbnail else "content"
        async with self.database.pool.acquire() as connection:
            row = await connection.fetchrow(
                f"SELECT name, media_type, {column} AS bytes FROM attachments WHERE id = $1", attachment_id
            )
        if row is None or row["bytes"] is None:
            return None
        # a thumbnail is always a WebP (see gateway/images.py)
        media_type = "image/webp" if thumbnail else row["media_type"]
        return Download(row["name"], media_type, bytes(row["bytes"]))

    async def export_of_visitor(self, vid: str) -> list[dict[str, Any]]:
        """The files of the visitor's conversations, live or archived, for its export: what is
        known of each and its bytes (base64), so the export is whole without links that expire."""
        async with self.database.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id, conversation_id, uploaded_by, name, media_type, size, content, created_at"
                " FROM attachments WHERE visitor_id = $1 ORDER BY created_at, id",
                vid,
            )
        return [
            {
                "id": row["id"],
                "conversation_id": row["conversation_id"],
                "uploaded_by": row["uploaded_by"],
                "name": row["name"],
                "type": row["media_type"],
                "size": row["size"],
                "created_at": ms(row["created_at"]),
                "content_base64": base64.b64encode(row["content"]).decode(),
            }
            for row in rows
        ]


async def delete_of_conversations(connection: Connection, cids: list[str], visitor_id: str = "") -> None:
    """In the caller's transaction: the files of these conversations (and, given, of every
    conversation of that visitor, even one PostgreSQL has not received yet)."""
    await connection.execute(
        "DELETE FROM attachments WHERE conversation_id = ANY($1::text[]) OR visitor_id = $2", cids, visitor_id
    )
