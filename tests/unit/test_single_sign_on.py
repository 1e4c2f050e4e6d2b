"""What the provider's groups give (domain/accounts.py), and the role map's setting."""

from __future__ import annotations

import pytest

from switchboard.domain.accounts import DEFAULT_ROLE_MAP, ProviderGrant, UserRole, grant_of, parse_role_map
from switchboard.settings import Settings


def test_the_default_map_gives_the_role_of_each_groups_name_and_the_highest_wins():
    assert grant_of(["agent"], DEFAULT_ROLE_MAP) == ProviderGrant(UserRole.AGENT, [])
    assert grant_of(["agent", "supervisor"], DEFAULT_ROLE_MAP).role is UserRole.SUPERVISOR
    assert grant_of(["supervisor", "admin", "agent"], DEFAULT_ROLE_MAP).role is UserRole.ADMIN
    assert grant_of("supervisor", DEFAULT_ROLE_MAP).role is UserRole.SUPERVISOR  # one group as a string


@pytest.mark.parametrize("groups", [[], ["staff", "Admin"], None, 5, {"admin": True}, [["admin"]], "queue:support"])
def test_no_mapped_group_gives_nothing(groups):
    assert grant_of(groups, DEFAULT_ROLE_MAP) is None


def test_queue_groups_give_queues_to_agents_and_supervisors_only():
    groups = ["agent", "queue:support", "queue:sales", "queue:support", "queue:bad id", "queue:", "queues:x"]
    assert grant_of(groups, DEFAULT_ROLE_MAP) == ProviderGrant(UserRole.AGENT, ["sales", "support"])
    assert grant_of(["supervisor", "queue:sales"], DEFAULT_ROLE_MAP) == ProviderGrant(UserRole.SUPERVISOR, ["sales"])
    assert grant_of(["admin", "queue:sales"], DEFAULT_ROLE_MAP) == ProviderGrant(UserRole.ADMIN, [])


def test_a_role_map_replaces_the_default():
    mapping = parse_role_map(" cc-agents=agent , cc-leads = supervisor,,cc-admins=admin ")
    assert mapping == {"cc-agents": UserRole.AGENT, "cc-leads": UserRole.SUPERVISOR, "cc-admins": UserRole.ADMIN}
    assert grant_of(["admin", "cc-agents"], mapping) == ProviderGrant(UserRole.AGENT, [])
    assert grant_of(["admin"], mapping) is None
    assert parse_role_map(None) == parse_role_map("  ") == DEFAULT_ROLE_MAP


@pytest.mark.parametrize("bad", ["admins", "=admin", "x=owner", "x=Admin", "a=agent,b"])
def test_a_malformed_role_map_is_refused_at_startup(bad):
    with pytest.raises(ValueError):
        parse_role_map(bad)
    with pytest.raises(SystemExit, match="SWITCHBOARD_OIDC_ROLE_MAP"):
        Settings.from_env({"SWITCHBOARD_OIDC_ROLE_MAP": bad})
