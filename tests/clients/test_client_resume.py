"""The client's resume bookkeeping (switchboard_client.resume), on its own: where a reconnect resumes
each conversation from, and which replayed events are doubles."""

from __future__ import annotations

from switchboard_client.resume import MOST_CONVERSATIONS, REPLAY_OVERLAP, Delivered


def test_a_resume_asks_again_for_the_last_few_and_their_doubles_are_dropped() -> None:
    delivered = Delivered()
    delivered.start("c")
    assert [delivered.first_time("c", seq) for seq in (1, 3, 2)] == [True, True, True]  # out of order is fine
    assert delivered.resume_point("c") == 0
    for seq in range(4, 41):
        delivered.first_time("c", seq)
    assert delivered.resume_point("c") == 40 - REPLAY_OVERLAP
    replayed = range(delivered.resume_point("c") + 1, 43)
    assert [seq for seq in replayed if delivered.first_time("c", seq)] == [41, 42]


def test_an_event_missed_out_of_order_before_a_drop_is_delivered_by_the_resume() -> None:
    delivered = Delivered()
    delivered.start("c")
    for seq in (1, 2, 4):  # 3 was still on its way when the socket dropped
        delivered.first_time("c", seq)
    assert [seq for seq in range(delivered.resume_point("c") + 1, 6) if delivered.first_time("c", seq)] == [3, 5]


def test_a_conversation_going_on_before_the_client_never_resumes_below_its_first_event() -> None:
    delivered = Delivered()
    delivered.join("c")
    assert delivered.resume_point("c") == 0  # nothing delivered yet: a drop now must lose nothing
    delivered.first_time("c", 50)
    assert delivered.resume_point("c") == 49


def test_the_history_that_came_with_an_assignment_counts_as_delivered() -> None:
    delivered = Delivered()
    delivered.start("c", [1, 2, 3, 4])
    assert delivered.resume_point("c") == 4
    assert [delivered.first_time("c", seq) for seq in (3, 4, 5)] == [False, False, True]


def test_a_hello_names_the_most_recently_active_conversations_only() -> None:
    delivered = Delivered()
    for n in range(MOST_CONVERSATIONS + 5):
        delivered.start(f"c{n}")
    delivered.first_time("c0", 1)  # active again: among the latest
    points = delivered.resume_points()
    assert len(points) == MOST_CONVERSATIONS and "c0" in points and "c1" not in points
    delivered.forget("c0")
    assert "c0" not in delivered.resume_points()
