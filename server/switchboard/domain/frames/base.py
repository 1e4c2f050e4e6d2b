"""The two kinds of struct the frames are made of: a frame (a message on a socket, tagged by its
`type`) and a part (a value nested in a frame)."""

from __future__ import annotations

from msgspec import Struct


class Frame(Struct, tag_field="type", kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    pass


class Part(Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """A value nested in a frame."""
