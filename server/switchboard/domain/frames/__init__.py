"""Frame schemas of the wire contract, both directions: commands in (`incoming`), frames out (`outgoing`)."""

from .incoming import *
from .outgoing import *
