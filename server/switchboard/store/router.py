"""The object the gateway holds: every named command of the store, on one transition engine.

Each group of commands is its own module (see store/engine.py for how a step
runs and publishes); this class only puts them together under the names the
gateway calls.
"""

from __future__ import annotations

from .admin_commands import AdminCommands
from .agent_commands import AgentCommands
from .archive import ArchiveCommands
from .automation_commands import AutomationCommands
from .bot_stage import BotStageReads
from .customer_commands import CustomerCommands
from .erasure import ErasureCommands
from .history import HistoryReads
from .migrations import Migrations
from .step_in_commands import StepInCommands
from .timer_commands import TimerCommands
from .views import Views


class Router(
    CustomerCommands,
    AgentCommands,
    StepInCommands,
    AutomationCommands,
    BotStageReads,
    AdminCommands,
    TimerCommands,
    Views,
    Migrations,
    HistoryReads,
    ErasureCommands,
    ArchiveCommands,
):
    pass
