"""Switchboard: real-time chat routing (ACD) for contact centres."""

from importlib import metadata


def version() -> str:
    """The installed package's version ("0" when run from a source tree that was never installed)."""
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        return "0"
