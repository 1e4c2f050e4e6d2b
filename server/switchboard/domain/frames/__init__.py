"""Frame schemas of the wire contract, both directions: commands in (`incoming`), frames out (`outgoing`)."""

from .bot import *  # noqa: F403 (each module lists its names in __all__)
from .incoming import *  # noqa: F403
from .outgoing import *  # noqa: F403
