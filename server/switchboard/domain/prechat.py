"""A queue's pre-chat form: the fields the widget shows before a chat starts, and the
check the server makes of what arrives in `start_chat`'s `attributes` (the widget's own
check is a courtesy; this one is the rule). A wrong value is refused naming its field,
so the widget can mark it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from .errors import FieldError

FieldType = Literal["text", "email", "phone", "choice", "checkbox"]
FieldName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Label = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]

#: an address with one @ and a dot after it: what a form can check without sending mail
LOOSE_EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
#: digits with the usual separators, an optional leading +
PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{2,31}$")
CHECKED, UNCHECKED = "true", "false"


class PrechatField(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    name: FieldName
    label: Label
    type: FieldType = "text"
    required: bool = False
    #: the choices of a `choice` field
    options: Annotated[list[Label], msgspec.Meta(max_length=50)] | None = None

    def __post_init__(self) -> None:
        if self.type == "choice" and not self.options:
            raise ValueError(f"prechat field {self.name}: a choice needs options")
        if self.type != "choice" and self.options is not None:
            raise ValueError(f"prechat field {self.name}: only a choice has options")


PrechatFields = Annotated[list[PrechatField], msgspec.Meta(max_length=20)]


def check_field_names(fields: list[PrechatField]) -> None:
    names = [field.name for field in fields]
    if len(set(names)) != len(names):
        raise ValueError("prechat_fields must not repeat a name")


def check_prechat(fields: list[PrechatField], attributes: dict[str, str]) -> None:
    """Refuses the first field whose value is missing (when required) or not of its type."""
    for field in fields:
        value = attributes.get(field.name, "").strip()
        if field.type == "checkbox":
            if value not in ("", CHECKED, UNCHECKED):
                raise FieldError(field.name, f"{field.label}: must be {CHECKED} or {UNCHECKED}")
            if field.required and value != CHECKED:
                raise FieldError(field.name, f"{field.label}: must be checked")
            continue
        if not value:
            if field.required:
                raise FieldError(field.name, f"{field.label}: required")
            continue
        if field.type == "email" and not LOOSE_EMAIL.match(value):
            raise FieldError(field.name, f"{field.label}: not an email address")
        if field.type == "phone" and not PHONE.match(value):
            raise FieldError(field.name, f"{field.label}: not a phone number")
        if field.type == "choice" and value not in (field.options or []):
            raise FieldError(field.name, f"{field.label}: not one of the choices")
