"""The pure parts of accounts: the sign-in throttle's waits, secrets kept out of the audit trail, the bodies."""

from __future__ import annotations

import msgspec
import pytest

from switchboard.domain.accounts import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    NewUser,
    UserChange,
    UserRole,
    login_wait_s,
    without_secrets,
)


def test_failed_sign_ins_wait_longer_each_time_up_to_the_lockout():
    waits = [login_wait_s(failures, free=5, longest_s=300) for failures in range(1, 20)]
    assert waits[:5] == [0.0] * 5
    assert waits[5:12] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    assert max(waits) == 300 and waits[-1] == 300
    assert login_wait_s(10**9, free=5, longest_s=300) == 300  # no overflow however many


def test_secrets_never_reach_the_audit_trail_at_any_depth():
    cleaned = without_secrets(
        {
            "id": "wh_1",
            "secret": "whsec_x",
            "nested": [{"token": "a1.x.y", "name": "kept"}, "plain"],
            "user": {"password_hash": "$argon2id$", "password": "p", "totp_secret": "S", "email": "e@x"},
            "key": "sbk_x",
        }
    )
    assert cleaned == {
        "id": "wh_1",
        "secret": "[secret]",
        "nested": [{"token": "[secret]", "name": "kept"}, "plain"],
        "user": {"password_hash": "[secret]", "password": "[secret]", "totp_secret": "[secret]", "email": "e@x"},
        "key": "[secret]",
    }
    assert without_secrets(None) is None and without_secrets([1, "x"]) == [1, "x"]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "name": "A", "role": "agent", "password": "p" * (PASSWORD_MIN - 1)},
        {"email": "a@example.com", "name": "A", "role": "agent", "password": "p" * (PASSWORD_MAX + 1)},
        {"email": "a@example.com", "name": "A", "role": "root"},
        {"email": "a@example.com", "name": "A", "role": "agent", "id": "no spaces"},
        {"email": "a@example.com", "name": "A", "role": "agent", "queues": ["ok", "not ok"]},
        {"email": "a@example.com", "name": "", "role": "agent"},
        {"email": "a@example.com", "name": "A", "role": "agent", "totp_secret": "S"},
    ],
)
def test_bad_user_bodies_are_refused(body):
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body, NewUser)


def test_only_agents_and_supervisors_are_agents():
    assert UserRole.AGENT.is_agent and UserRole.SUPERVISOR.is_agent and not UserRole.ADMIN.is_agent
    change = msgspec.convert({"disabled": True}, UserChange)
    assert msgspec.structs.asdict(change) == {
        "email": None,
        "name": None,
        "role": None,
        "queues": None,
        "password": None,
        "disabled": True,
    }
