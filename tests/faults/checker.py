"""History checks: lost, duplicated, out of order, worst delay — for chats and for fan-outs.

Ground truth for "accepted" is the sandbox's answer to a shopper call: ``webhook_status`` 200
means our webhook accepted the event (Meta would stop retrying it). Then

- **lost**: accepted but never handled, or (where a reply is expected) never answered; for a
  fan-out, a subscriber never notified;
- **duplicated**: the same ``ack N`` or notification delivered twice (the history itself records
  each event once: a handler re-run after a crash is counted apart, as ``reruns``);
- **out of order**: per shopper, an event handled (or first answered) after one sent later than it;
- **max delay**: the worst accept → handled (and → reply in the sandbox inbox), in seconds.

Every scenario prints :meth:`Figures.line` (also appended to ``$SALEBELL_FAULTS_REPORT`` when set)
and asserts :meth:`Figures.problems` is empty (:func:`assert_held`).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.faults.load import Sent


@dataclass
class Figures:
    """One scenario's outcome, and the bound it is held to."""

    scenario: str
    accepted: int
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    max_delay_s: float = 0.0
    bound_s: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)  # further checks of the scenario that failed

    def line(self) -> str:
        bound = f" (bound {self.bound_s:g}s)" if self.bound_s is not None else ""
        notes = "".join(f", {k} {_fmt(v)}" for k, v in self.notes.items())
        return (f"[faults] {self.scenario}: accepted {self.accepted}, lost {self.lost}, duplicated {self.duplicated}, "
                f"out of order {self.out_of_order}, max delay {self.max_delay_s:.2f}s{bound}{notes}")

    def problems(self) -> list[str]:
        found = list(self.failures)
        if self.lost:
            found.append(f"{self.lost} lost")
        if self.duplicated:
            found.append(f"{self.duplicated} duplicated")
        if self.out_of_order:
            found.append(f"{self.out_of_order} out of order")
        if self.bound_s is not None and self.max_delay_s > self.bound_s:
            found.append(f"max delay {self.max_delay_s:.2f}s over the bound of {self.bound_s:g}s")
        return found

    def report(self) -> str:
        """The line, and what failed (for an assertion message)."""
        problems = self.problems()
        return self.line() + ("" if not problems else "\n  FAILED: " + "; ".join(problems))


def keep(line: str) -> None:
    """Print a scenario's line, and append it to ``$SALEBELL_FAULTS_REPORT`` when set (a record of the run)."""
    print(line)
    path = os.environ.get("SALEBELL_FAULTS_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")


def assert_held(figures: Figures) -> None:
    """Print and keep the scenario's figures, then assert its guarantees."""
    keep(figures.report())
    assert not figures.problems(), figures.report()


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def inversions(seqs: Iterable[int]) -> int:
    """Events that came after one sent later than them (each counted once)."""
    highest, late = -1, 0
    for seq in seqs:
        if seq < highest:
            late += 1
        highest = max(highest, seq)
    return late


def chat_figures(scenario: str, sent: list[Sent], handled: list[tuple[str, str, int, int]],
                 replies: Mapping[str, list[tuple[int, int]]], *, expect_replies: bool = True,
                 bound_s: float | None = None, delay_from_ms: Mapping[str, int] | None = None) -> Figures:
    """Figures of a chat load: ``handled`` from the history, ``replies`` per shopper (``ack N``, ms).

    ``delay_from_ms``: per mid, the moment its delay counts from, when later than its acceptance
    (e.g. the moment Redis came back, for events accepted before an outage).
    """
    accepted = [s for s in sent if s.accepted]
    by_mid = {s.mid: s for s in accepted}
    handled_at: dict[str, int] = {}
    order: dict[str, list[int]] = defaultdict(list)
    for psid, mid, seq, at_ms in handled:
        if mid in by_mid:
            handled_at.setdefault(mid, at_ms)
            order[psid].append(seq)
    replied: dict[tuple[str, int], list[int]] = defaultdict(list)
    for psid, acks in replies.items():
        for seq, at_ms in acks:
            replied[(psid, seq)].append(at_ms)
    lost_handling = [s for s in accepted if s.mid not in handled_at]
    lost_reply = [s for s in accepted if expect_replies and (s.psid, s.seq) not in replied]
    lost = {s.mid for s in lost_handling} | {s.mid for s in lost_reply}
    duplicated = sum(len(times) - 1 for key, times in replied.items() if len(times) > 1)
    handled_inversions = sum(inversions(seqs) for seqs in order.values())
    reply_inversions = sum(inversions(dict.fromkeys(seq for seq, _ in acks)) for acks in replies.values())
    worst_handled = worst_reply = 0.0
    for s in accepted:
        start = max(s.accepted_ms, (delay_from_ms or {}).get(s.mid, 0))
        if s.mid in handled_at:
            worst_handled = max(worst_handled, (handled_at[s.mid] - start) / 1000)
        if (s.psid, s.seq) in replied:
            worst_reply = max(worst_reply, (min(replied[(s.psid, s.seq)]) - start) / 1000)
    figures = Figures(scenario, len(accepted), lost=len(lost), duplicated=duplicated,
                      out_of_order=handled_inversions + reply_inversions,
                      max_delay_s=max(worst_handled, worst_reply if expect_replies else 0.0), bound_s=bound_s)
    figures.notes.update({"not accepted": len(sent) - len(accepted), "unhandled": len(lost_handling),
                          "unanswered": len(lost_reply), "handling inversions": handled_inversions,
                          "reply inversions": reply_inversions, "max to handled s": worst_handled,
                          "max to reply s": worst_reply})
    return figures


def fanout_figures(scenario: str, received: Mapping[str, int], view: Mapping[str, Any], *,
                   uncertain_ok: Iterable[str] = ()) -> Figures:
    """Figures of a campaign: ``received`` notifications per subscriber, the sale's API view.

    ``uncertain_ok``: subscribers whose send the bot recorded as uncertain (failed/uncertain); where
    a scenario's guarantee depends on Meta's echoes, those are shown, not counted as lost.
    """
    excused = set(uncertain_ok)
    never = [p for p, n in received.items() if n == 0]
    lost = [p for p in never if p not in excused]
    duplicated = sum(n - 1 for n in received.values() if n > 1)
    figures = Figures(scenario, len(received), lost=len(lost), duplicated=duplicated)
    numbers = view.get("numbers", {})
    fanout = view.get("fanout", {})
    figures.notes.update({"notified": len(received) - len(never), "sent": numbers.get("sent"),
                          "failed": numbers.get("failed") or {}, "skipped": numbers.get("skipped") or {},
                          "complete": fanout.get("complete"), "state": fanout.get("state")})
    if excused:
        figures.notes["uncertain, not notified"] = len([p for p in never if p in excused])
    unaccounted = len(never) - int(numbers.get("failed_total") or 0) - int(numbers.get("skipped_total") or 0)
    if fanout.get("complete") and unaccounted > 0:
        figures.failures.append(f"the sale reports complete while {unaccounted} subscribers were neither "
                                "notified nor recorded failed or skipped")
    return figures
