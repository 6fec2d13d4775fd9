"""The Pages one process serves, each with a :class:`~bot.runtime.Runtime` of its own.

A Page's runtime holds that Page's stores (keys, clock, consent ledger, outbox, limits,
queues), its loops (inbox splitter, event consumer, send worker) and a Graph client with
the Page's token: nothing of one Page is reachable from another's. ``FB_PAGE_ID`` gives
one Page; ``FB_PAGES`` several (:class:`~bot.page_settings.PageConfig`). The webhook routes each
entry to its Page's inbox (:func:`bot.page_routing.route_entries`); the admin API, the CLI and the dashboard
name a Page with ``?page=`` (:func:`page_runtime`), defaulting to the only one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from aiohttp import web
from redis.asyncio import Redis

from .errors import ApiError
from .runtime import Runtime
from .settings import Settings


class Pages:
    """page id -> its runtime, in the order of ``FB_PAGES`` (the first is the default for one-Page answers)."""

    def __init__(self, settings: Settings, redis: Redis, *, role: str = "worker",
                 runtimes: Sequence[Runtime] = ()) -> None:
        if not runtimes:
            runtimes = [Runtime(settings.for_page(page_id), redis, role=role) for page_id in settings.page_ids]
        self._runtimes = {rt.settings.page_id: rt for rt in runtimes}

    def __iter__(self) -> Iterator[Runtime]:
        return iter(self._runtimes.values())

    def __len__(self) -> int:
        return len(self._runtimes)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._runtimes)

    @property
    def first(self) -> Runtime:
        return next(iter(self._runtimes.values()))

    def get(self, page_id: str) -> Runtime | None:
        return self._runtimes.get(page_id)

    async def load_plugins(self, names: Sequence[str]) -> None:
        for runtime in self:
            await runtime.load_plugins(names)

    async def start(self) -> None:
        for runtime in self:
            await runtime.start()

    async def stop(self) -> None:
        await asyncio.gather(*(runtime.stop() for runtime in self))

    async def drain(self, timeout: float = 10.0, *, send: bool = True) -> None:
        """Every Page's :meth:`Runtime.drain` (tests and burst mode)."""
        await asyncio.gather(*(runtime.drain(timeout, send=send) for runtime in self))


PAGES = web.AppKey("pages", Pages)


def page_runtime(request: web.Request) -> Runtime:
    """The runtime of the Page a request names with ``?page=``; without it, of the only Page.

    404 for a Page not served here; 400 when several are served and none is named.
    """
    pages = request.app[PAGES]
    wanted = request.query.get("page", "").strip()
    if wanted:
        runtime = pages.get(wanted)
        if runtime is None:
            raise ApiError(404, f"Page {wanted} is not served by this deployment (it serves {', '.join(pages.ids)})")
        return runtime
    if len(pages) == 1:
        return pages.first
    raise ApiError(400, f"this deployment serves several Pages ({', '.join(pages.ids)}): name one with ?page=<id>")
