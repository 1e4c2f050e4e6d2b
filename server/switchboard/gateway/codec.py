"""The two wire encodings: JSON in text frames, MessagePack in binary frames."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

JSON_SUBPROTOCOL = "switchboard.v1.json"
MSGPACK_SUBPROTOCOL = "switchboard.v1.msgpack"
SUPPORTED = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)

json_encode = msgspec.json.Encoder().encode
json_decode_any = msgspec.json.Decoder().decode
msgpack_encode = msgspec.msgpack.Encoder().encode
msgpack_decode_any = msgspec.msgpack.Decoder().decode


def choose_subprotocol(offered: list[str]) -> str | None:
    """The first subprotocol the client offers that we speak; None means JSON without one."""
    for name in offered:
        if name in SUPPORTED:
            return name
    return None


@dataclass(frozen=True)
class Codec:
    """Decodes commands into one tagged union, encodes frames for one subprotocol."""

    binary: bool
    json_decoder: msgspec.json.Decoder[Any]
    msgpack_decoder: msgspec.msgpack.Decoder[Any]

    @classmethod
    def for_(cls, subprotocol: str | None, command_type: Any) -> Codec:
        """One codec per subprotocol and command type, shared by every socket that
        speaks them (decoders keep no state between frames)."""
        key = (subprotocol == MSGPACK_SUBPROTOCOL, command_type)
        codec = _CODECS.get(key)
        if codec is None:
            codec = _CODECS[key] = cls(
                binary=key[0],
                json_decoder=msgspec.json.Decoder(command_type),
                msgpack_decoder=msgspec.msgpack.Decoder(command_type),
            )
        return codec

    def decode(self, message: Mapping[str, Any]) -> Any:
        """A typed command from an ASGI receive message; raises msgspec errors."""
        text = message.get("text")
        try:
            if text is not None:
                return self.json_decoder.decode(text)
            data = message.get("bytes") or b""
            return self.msgpack_decoder.decode(data) if self.binary else self.json_decoder.decode(data)
        except RecursionError:  # a frame nested deeper than the stack: no command is
            raise msgspec.DecodeError("the frame is nested too deeply") from None
        except UnicodeDecodeError:  # msgspec's JSON decoder raises it for bytes that are not UTF-8
            raise msgspec.DecodeError("the frame is not valid UTF-8") from None

    def decode_any(self, message: Mapping[str, Any]) -> Any:
        text = message.get("text")
        if text is not None:
            return json_decode_any(text)
        data = message.get("bytes") or b""
        return msgpack_decode_any(data) if self.binary else json_decode_any(data)

    def encode(self, frame: Any) -> dict[str, Any]:
        """The ASGI send message for `frame`."""
        if self.binary:
            return {"type": "websocket.send", "bytes": msgpack_encode(frame)}
        return {"type": "websocket.send", "text": json_encode(frame).decode()}


_CODECS: dict[tuple[bool, Any], Codec] = {}
