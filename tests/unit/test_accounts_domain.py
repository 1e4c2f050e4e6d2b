"""The pure parts of accounts: the sign-in throttle's waits, secrets kept out of the audit trail, the bodies."""

from __future__ import annotations

import msgspec
import pytest

from switchboard.domain.accounts import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    LoginBody,
    NewApiKey,
    NewUser,
    UserChange,
    UserRole,
    login_wait_s,
    without_nul,
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


def test_what_goes_to_postgresql_holds_no_nul_character():
    # jsonb refuses a NUL: the audit trail keeps a replacement character in its place, at any depth
    assert without_nul({"reasons": ["Br\x00eak", 3], "k\x00": None}) == {"reasons": ["Br\ufffdeak", 3], "k\ufffd": None}
    # text columns refuse one too: the bodies stored in users and api_keys refuse it (400), as a sign-in's email does
    for kind, body in (
        (NewUser, {"email": "a\x00@example.com", "name": "A", "role": "agent"}),
        (NewUser, {"email": "a@example.com", "name": "A\x00", "role": "agent"}),
        (UserChange, {"name": "\x00"}),
        (NewApiKey, {"name": "ci\x00", "scope": "read"}),
        (LoginBody, {"email": "a\x00@example.com", "password": "whatever"}),
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(body, kind)


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
