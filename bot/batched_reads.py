"""Reads of several stores in one round trip.

A store read on a hot path together with others offers ``stage_<what>(pipe, ...)``: it queues its
commands on a non-transactional pipeline the caller owns and returns a :class:`Staged`, which builds
the store's value from the pipeline's replies once the caller has run it. The caller runs the
pipeline once and asks each staged read for its value; the store alone knows its keys and its
format. Only plain keyed commands are staged (no scripts: nothing to load first), and all of one
Page's keys share one hash slot (:mod:`bot.keys`), so on Redis Cluster too a batch is one round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Staged(Generic[T]):
    """Commands ``start .. start + count`` of a pipeline, and how their replies become a value."""

    start: int
    count: int
    build: Callable[[Sequence[Any]], T]

    def value(self, replies: Sequence[Any]) -> T:
        return self.build(replies[self.start:self.start + self.count])


def stage(pipe: Any, queue: Callable[[], object], build: Callable[[Sequence[Any]], T]) -> Staged[T]:
    """Queue commands on ``pipe`` (``queue()``) and remember which replies are theirs."""
    start = len(pipe)
    queue()
    return Staged(start, len(pipe) - start, build)
