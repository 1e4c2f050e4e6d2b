"""The two encodings of the wire contract: JSON in text frames, MessagePack in binary frames."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Encoding = Literal["json", "msgpack"]

SUBPROTOCOLS: dict[Encoding, str] = {"json": "switchboard.v1.json", "msgpack": "switchboard.v1.msgpack"}

_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()
_json_decoder = msgspec.json.Decoder(dict[str, Any])
_msgpack_decoder = msgspec.msgpack.Decoder(dict[str, Any])


def encode(frame: dict[str, Any], encoding: Encoding) -> str | bytes:
    if encoding == "msgpack":
        return _msgpack_encoder.encode(frame)
    return _json_encoder.encode(frame).decode()


def decode(data: str | bytes, encoding: Encoding) -> dict[str, Any]:
    """A frame as the server sent it; raises msgspec.DecodeError on anything but an object."""
    if isinstance(data, bytes) and encoding == "msgpack":
        return _msgpack_decoder.decode(data)
    return _json_decoder.decode(data)
