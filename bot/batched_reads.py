"""Reads (and last writes) of several stores in one round trip.

A store read on a hot path together with others offers ``stage_<what>(pipe, ...)``: it queues its
commands on a non-transactional pipeline the caller owns and returns a :class:`Staged`, which builds
the store's value from the pipeline's replies once the caller has run it. The caller runs the
pipeline once and asks each staged read for its value; the store alone knows its keys and its
format. All of one Page's keys share one hash slot (:mod:`bot.keys`), so on Redis Cluster too a batch
is one round trip.

Keyed commands are staged, and scripts that only read (:func:`stage_script`, by EVALSHA: redis-py's
own scripts in a pipeline would ask ``SCRIPT EXISTS`` first, a round trip of its own; on Redis Cluster,
whose pipelines refuse EVALSHA, the caller runs such a script on its own). A server that
does not know such a script (restarted, new, failed over) answers NOSCRIPT; :func:`run_batch` then
runs it once by EVAL (which caches it there) and the whole batch again: nothing in it changed anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import NoScriptError

from .read_bundle import BundledReads, bundle_script
from .scripts import Arg, Script

T = TypeVar("T")
B = TypeVar("B")


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


_CLUSTER_TYPES: dict[type, bool] = {}


def _cluster_type(kind: type) -> bool:
    known = _CLUSTER_TYPES.get(kind)
    if known is None:
        known = _CLUSTER_TYPES[kind] = issubclass(kind, ClusterPipeline)
    return known


def is_cluster_pipeline(pipe: Any) -> bool:
    """A Redis Cluster pipeline (no scripts in it). By type, once per type: ``isinstance`` against redis-py's
    cluster classes walks a ``Protocol`` check each time (1.4 % of a worker's CPU, py-spy)."""
    return _cluster_type(type(pipe))


def stage_script(pipe: Any, script: Script, keys: Sequence[Arg], args: Sequence[Arg],
                 build: Callable[[Any], T]) -> Staged[T] | None:
    """Queue a read-only ``script`` by EVALSHA; ``build`` makes the value from its one reply. None on a
    Redis Cluster pipeline, which refuses EVALSHA (redis-py's rule): the caller runs the script itself."""
    if is_cluster_pipeline(pipe):
        return None
    return stage(pipe, lambda: pipe.evalsha(script.sha, len(keys), *keys, *args), lambda r: build(r[0]))


async def run_batch(redis: Redis, queue_all: Callable[[Any], B], known: Callable[[], Awaitable[object]]) -> \
        tuple[B, list[Any]]:
    """Run what ``queue_all(pipe)`` stages, in one round trip: (what it returned, the replies).

    On NOSCRIPT, ``known()`` runs the batch's scripts the way that makes the server learn them (a
    :class:`~bot.scripts.Script` call: EVAL where unknown), and the batch runs again, once.
    """
    bundle = bundle_script(redis)
    for attempt in (1, 2):
        async with redis.pipeline(transaction=False) as pipe:
            # the plain reads in one script call (bot.read_bundle), except where pipelines take no script
            reads = None if is_cluster_pipeline(pipe) else BundledReads(pipe)
            staged = queue_all(pipe if reads is None else reads)
            if reads is not None:
                reads.finish(bundle)
            try:
                raw = await pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
            else:
                return staged, raw if reads is None else reads.replies(raw)
        if reads is not None:
            await bundle(keys=[], args=[])  # (no reads: it only makes the server learn it)
        await known()
    raise AssertionError("unreachable")  # pragma: no cover


async def write_together(redis: Redis, queue_all: Callable[[Any], object]) -> None:
    """Run the writes ``queue_all(pipe)`` stages (each store's ``stage_<write>(pipe, ...)``) in one round
    trip, not as a transaction: each write stands alone, the batch only saves round trips."""
    async with redis.pipeline(transaction=False) as pipe:
        queue_all(pipe)
        await pipe.execute()
