"""The history checks themselves: each kind of failure is seen (a checker that sees nothing proves nothing)."""

from __future__ import annotations

from tests.faults.checker import chat_figures, fanout_figures, inversions
from tests.faults.load import Sent


def sent(psid: str, seq: int, status: int = 200, at: int = 1000) -> Sent:
    return Sent(psid, seq, f"m{psid}{seq}", status, at, at)


def test_inversions_count_each_event_that_came_after_a_later_one() -> None:
    assert inversions([0, 1, 2, 3]) == 0
    assert inversions([1, 0, 2, 3]) == 1
    assert inversions([3, 0, 1, 2]) == 3


def test_a_clean_chat_has_nothing_to_report() -> None:
    log = [sent("a", 0), sent("a", 1), sent("b", 0)]
    handled = [("a", "ma0", 0, 1100), ("b", "mb0", 0, 1200), ("a", "ma1", 1, 1300)]
    replies = {"a": [(0, 1400), (1, 1500)], "b": [(0, 1600)]}
    figures = chat_figures("clean", log, handled, replies, bound_s=1.0)
    assert figures.problems() == [] and figures.accepted == 3 and figures.max_delay_s == 0.6


def test_lost_duplicated_out_of_order_and_late_are_each_seen() -> None:
    log = [sent("a", 0), sent("a", 1), sent("a", 2), sent("b", 0), sent("c", 0, status=503)]
    handled = [("a", "ma1", 1, 1100), ("a", "ma0", 0, 1200), ("b", "mb0", 0, 9000)]  # a2 never handled
    replies = {"a": [(1, 1300), (0, 1400), (0, 1500)], "b": [(0, 9100)]}  # ack 0 twice
    figures = chat_figures("broken", log, handled, replies, bound_s=5.0)
    assert figures.accepted == 4  # c's message was never accepted: not counted
    assert (figures.lost, figures.duplicated) == (1, 1)
    assert figures.out_of_order == 2  # one in handling, one in the replies
    assert figures.max_delay_s == 8.1
    assert len(figures.problems()) == 4


def test_delay_counts_from_a_later_start_when_given() -> None:
    log = [sent("a", 0, at=1000)]
    figures = chat_figures("outage", log, [("a", "ma0", 0, 7000)], {"a": [(0, 7500)]}, bound_s=5.0,
                           delay_from_ms={"ma0": 6000})
    assert figures.max_delay_s == 1.5 and figures.problems() == []


def test_a_fanout_that_says_complete_while_subscribers_wait_is_caught() -> None:
    view = {"fanout": {"complete": True, "state": "done"},
            "numbers": {"sent": 2, "failed": {}, "failed_total": 0, "skipped_total": 0}}
    figures = fanout_figures("fanout", {"p1": 1, "p2": 2, "p3": 0}, view)
    assert (figures.lost, figures.duplicated) == (1, 1)
    assert any("complete" in p for p in figures.problems())


def test_an_uncertain_send_is_excused_only_where_allowed() -> None:
    view = {"fanout": {"complete": True}, "numbers": {"sent": 1, "failed": {"uncertain": 1}, "failed_total": 1,
                                                      "skipped_total": 0}}
    assert fanout_figures("strict", {"p1": 1, "p2": 0}, view).lost == 1
    assert fanout_figures("echo-bound", {"p1": 1, "p2": 0}, view, uncertain_ok={"p2"}).problems() == []
