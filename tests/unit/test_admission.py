"""The rules the customer and agent sockets apply, tested without a socket: origin policy, a closed
queue's answer to a new chat, a returning visitor's conversation and replay, the states an agent may
set, what a transfer names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from switchboard.domain.admission import (
    ROUTE_NOW,
    Hold,
    hold_for_hours,
    origin_allowed,
    queue_origins,
    same_origin,
)
from switchboard.domain.desk import check_transfer_target, settable_state
from switchboard.domain.errors import ErrorCode, SwitchboardError
from switchboard.domain.hours import BusinessHours
from switchboard.domain.returning import Replay, goes_on, replay_from
from switchboard.domain.states import AgentState


def ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


MONDAYS = BusinessHours(time_zone="UTC", weekly={"mon": [("09:00", "17:00")]}, closed_message="closed now")
MONDAY_NOON = ms(2026, 11, 30, 12, 0)
SUNDAY_NOON = ms(2026, 11, 29, 12, 0)


def test_a_handshake_without_origin_or_without_a_list_passes():
    assert origin_allowed(None, ("https://shop.example",), "sb.example")
    assert origin_allowed("https://evil.example", None, "sb.example")


def test_a_listed_origin_or_a_page_of_this_server_passes_and_others_do_not():
    allowed = ("https://shop.example",)
    assert origin_allowed("https://shop.example", allowed, "sb.example")
    assert origin_allowed("https://SB.example", allowed, "sb.example")
    assert not origin_allowed("https://evil.example", allowed, "sb.example")
    assert not origin_allowed("https://evil.example", allowed, None)


def test_same_origin_compares_host_and_port_and_survives_a_malformed_origin():
    assert same_origin("http://sb.example:8080", "sb.example:8080")
    assert not same_origin("http://sb.example:8081", "sb.example:8080")
    assert not same_origin("http://[::1", "sb.example")


def test_a_queues_own_origins_replace_the_nodes():
    assert queue_origins(["https://a.example"], ("https://b.example",)) == ["https://a.example"]
    assert queue_origins(None, ("https://b.example",)) == ("https://b.example",)
    assert queue_origins([], ("https://b.example",)) == []


def test_an_open_queue_or_one_without_hours_routes_now():
    assert hold_for_hours(None, SUNDAY_NOON, "webchat") is ROUTE_NOW
    assert hold_for_hours(MONDAYS, MONDAY_NOON, "webchat") is ROUTE_NOW


def test_a_closed_queue_refuses_a_webchat_with_its_message():
    with pytest.raises(SwitchboardError) as refused:
        hold_for_hours(MONDAYS, SUNDAY_NOON, "webchat")
    assert (refused.value.code, refused.value.message) == (ErrorCode.UNAVAILABLE, "closed now")


def test_a_closed_queue_holds_a_messaging_conversation_until_it_opens():
    assert hold_for_hours(MONDAYS, SUNDAY_NOON, "messaging") == Hold(ms(2026, 11, 30, 9, 0), "closed now")


def test_a_queue_that_never_opens_again_refuses_messaging_too():
    never = BusinessHours(time_zone="UTC", weekly={}, closed_message="gone")
    with pytest.raises(SwitchboardError) as refused:
        hold_for_hours(never, SUNDAY_NOON, "messaging")
    assert refused.value.code is ErrorCode.UNAVAILABLE


def test_an_agent_sets_available_not_ready_or_offline_only():
    assert settable_state("available") is AgentState.AVAILABLE
    for state in ("rona", "busy", ""):
        with pytest.raises(SwitchboardError) as refused:
            settable_state(state)
        assert refused.value.code is ErrorCode.BAD_REQUEST


def test_a_transfer_names_a_queue_or_an_agent():
    check_transfer_target("q", None)
    check_transfer_target(None, "a")
    for queue, agent in ((None, None), ("q", "a")):
        with pytest.raises(SwitchboardError):
            check_transfer_target(queue, agent)


def test_a_closed_webchat_is_over_and_a_messaging_thread_goes_on():
    assert not goes_on("closed", "webchat")
    assert goes_on("closed", "messaging")
    assert goes_on("active", "webchat")


def test_a_resume_replays_after_the_clients_seq_or_all_when_the_store_lost_history():
    assert replay_from(3, 5) == Replay(recovered=True, after=3)
    assert replay_from(5, 5) == Replay(recovered=True, after=5)
    assert replay_from(7, 5) == Replay(recovered=False, after=0)
