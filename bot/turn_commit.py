"""What an event's handler leaves to the step that completes the event: its send jobs and its last writes.

A consumer (:mod:`bot.consumer`) completes each event in one script (``complete`` in ``queues.lua``): the
head is popped and counted there. A handler that runs under a consumer may hand that step its last work
instead of doing it in round trips of its own: the send jobs it queues (:meth:`TurnCommit.enqueue`) and
writes staged the way a store stages them on a pipeline (:meth:`TurnCommit.stage`; ``SET`` with an expiry,
``ZADD``, ``ZREM``). They then happen in the same atomic step as the completion, only while the consumer
still holds the shopper's lease, and only once: a handled event's replies are queued exactly when it is
marked handled, with nothing between them for a crash to split.

A handler asks :func:`current` for the event's commit; outside a consumer's step (a test driving a
handler, a follow-up firing) there is none and it does the work itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from .outbox import JobArguments

WRITES = ("SET", "ZADD", "ZREM")  # what a commit may write (queues.lua refuses anything else)


@dataclass(frozen=True, slots=True)
class Write:
    command: str  # one of WRITES
    key: str
    args: tuple[str | int | float, ...]


class StagedWrites:
    """The pipeline methods the stores' ``stage_<write>(pipe, …)`` use, recorded for the completing step."""

    def __init__(self) -> None:
        self.writes: list[Write] = []

    def set(self, key: str, value: str, ex: int | None = None) -> None:
        self.writes.append(Write("SET", key, (value, "EX", ex) if ex else (value,)))

    def zadd(self, key: str, mapping: Mapping[str, int | float]) -> None:
        args: list[str | int | float] = []
        for member, score in mapping.items():
            args += [score, member]
        self.writes.append(Write("ZADD", key, tuple(args)))

    def zrem(self, key: str, *members: str) -> None:
        self.writes.append(Write("ZREM", key, members))


@dataclass
class TurnCommit:
    """One event's deferred work; the consumer runs it with the event's completion."""

    jobs: JobArguments | None = None
    staged: StagedWrites = field(default_factory=StagedWrites)
    open: bool = True  # until the handler's try ends: nothing may be added after (it would be lost)

    def enqueue(self, jobs: JobArguments) -> None:
        """Queue these jobs (``Outbox.enqueue_arguments``) when the event completes, after any queued before."""
        self._check_open()
        if self.jobs is None:
            self.jobs = jobs
        else:  # one list: the lane streams and TTLs once, then every job's
            self.jobs = JobArguments(self.jobs.count + jobs.count, self.jobs.keys + jobs.keys[2:],
                                     self.jobs.args + jobs.args[2:])

    def stage(self, queue_all: Callable[[StagedWrites], object]) -> None:
        """Stage writes as on a pipeline: ``queue_all(writes)`` calls the stores' ``stage_<write>``."""
        self._check_open()
        queue_all(self.staged)

    def _check_open(self) -> None:
        if not self.open:  # a task the handler left running: its work must not vanish silently
            raise RuntimeError("the event's handler has returned: its commit takes nothing more")

    def script_input(self) -> tuple[list[str], list[str | int | float]]:
        """The keys and arguments ``queues.lua``'s ``complete`` takes after its own."""
        keys: list[str] = []
        args: list[str | int | float] = [self.jobs.count if self.jobs else 0]
        if self.jobs:
            keys += self.jobs.keys
            args += self.jobs.args
        args.append(len(self.staged.writes))
        for w in self.staged.writes:
            keys.append(w.key)
            args += [w.command, len(w.args), *w.args]
        return keys, args


_current: ContextVar[TurnCommit | None] = ContextVar("salebell_turn_commit", default=None)


def current() -> TurnCommit | None:
    """The commit of the event being handled, or None outside a consumer's step."""
    commit = _current.get()
    return commit if commit is not None and commit.open else None


@contextlib.contextmanager
def deferring(commit: TurnCommit) -> Iterator[TurnCommit]:
    """Run a handler with ``commit`` as the event's (the consumer's, around one try of a handler)."""
    token = _current.set(commit)
    try:
        yield commit
    finally:
        commit.open = False
        _current.reset(token)
