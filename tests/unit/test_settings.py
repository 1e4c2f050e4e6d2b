"""Settings are written once: the dataclass says each variable, default, bound and meaning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.settings import Settings, settings_fields, settings_markdown

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
TABLE = re.compile(r"<!-- settings table: .*? -->\n(.*?)<!-- end of settings table -->\n", re.S)


def test_operations_md_holds_exactly_the_generated_table():
    found = TABLE.search(OPERATIONS.read_text())
    assert found, "docs/operations.md lost the settings table's markers"
    assert found.group(1) == settings_markdown(), (
        "run `switchboard settings --markdown` and paste it into operations.md"
    )


def test_the_command_prints_the_table():
    printed = subprocess.run(
        [sys.executable, "-m", "switchboard", "settings", "--markdown"], capture_output=True, text=True, check=True
    ).stdout
    assert printed == settings_markdown()
    assert "| `SWITCHBOARD_INACTIVITY_TIMEOUT_S` |  | `900` |" in printed


def test_an_empty_environment_gives_the_defaults():
    read, default = Settings.from_env({}), Settings()
    assert {**read.__dict__, "node_id": ""} == {**default.__dict__, "node_id": ""}


def test_every_kind_of_value_is_parsed_from_its_variable():
    settings = Settings.from_env(
        {
            "SWITCHBOARD_PORT": "9001",
            "SWITCHBOARD_INACTIVITY_TIMEOUT_S": "1.5",
            "SWITCHBOARD_ALLOWED_ORIGINS": "https://a.example, https://b.example,",
            "SWITCHBOARD_DATA_DIR": "/srv/sb",
            "SWITCHBOARD_WIDGET_DIR": "/srv/widget",
            "SWITCHBOARD_WEBHOOK_RETRY_JITTER": "0.5",
            "SWITCHBOARD_GC_FREEZE_INTERVAL_S": "0",
            "SWITCHBOARD_KEY_PREFIX": "tenant1",
        }
    )
    assert settings.port == 9001
    assert settings.inactivity_timeout_s == 1.5
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.data_dir == Path("/srv/sb") and settings.widget_dir == Path("/srv/widget")
    assert settings.webhook_retry_jitter == 0.5
    assert settings.gc_freeze_interval_s == 0
    assert settings.key_prefix == "tenant1"


def test_flags_win_over_the_environment():
    settings = Settings.from_env({"SWITCHBOARD_PORT": "9001"}, port=9002, host=None)
    assert settings.port == 9002 and settings.host == "127.0.0.1"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SWITCHBOARD_PORT", "eighty", "SWITCHBOARD_PORT must be an integer, not 'eighty'"),
        ("SWITCHBOARD_FRAME_BURST", "0", "SWITCHBOARD_FRAME_BURST must be at least 1"),
        ("SWITCHBOARD_SEND_QUEUE_LIMIT", "15", "SWITCHBOARD_SEND_QUEUE_LIMIT must be at least 16"),
        ("SWITCHBOARD_HELLO_TIMEOUT_S", "0", "SWITCHBOARD_HELLO_TIMEOUT_S must be greater than 0"),
        ("SWITCHBOARD_HELLO_TIMEOUT_S", "soon", "SWITCHBOARD_HELLO_TIMEOUT_S must be a number of seconds, not 'soon'"),
        ("SWITCHBOARD_HTTP_REQUESTS_PER_S", "-1", "SWITCHBOARD_HTTP_REQUESTS_PER_S must be greater than 0 (or 0: off)"),
        ("SWITCHBOARD_WEBHOOK_RETRY_JITTER", "1.5", "SWITCHBOARD_WEBHOOK_RETRY_JITTER must be a number from 0 to 1"),
    ],
)
def test_a_bad_value_stops_with_a_message_naming_the_variable(variable, value, message):
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env({variable: value})
    assert str(stopped.value) == message


def test_every_setting_has_a_meaning_and_a_variable_named_after_its_field():
    for item in settings_fields():
        assert item.spec.meaning
        assert item.variable == "SWITCHBOARD_" + item.name.upper()
