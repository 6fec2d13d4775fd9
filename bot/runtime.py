"""The processing side of a process: inbox splitters, event consumers, and what handlers get.

``salebell serve`` runs one :class:`Runtime` inside the web app (unless
``WEB_RUNS_WORKERS=false``); ``salebell worker`` runs one on its own. Plugins
(:mod:`bot.plugins`) add handlers, a setup and typed services
(``runtime.services``, :mod:`bot.services`), which is how the dialogue and
``live_sales/`` plug into ``bot/`` without ``bot/`` importing them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from . import optins, tracking, utility_templates
from .buckets import SendLimits
from .clock import Clock
from .consent import ConsentStore
from .consumer import EventConsumer, consumer_name
from .graph import GraphClient
from .handlers import HandlerRegistry
from .inbox import InboxSplitter
from .keys import Keys
from .outbox import Outbox
from .plugins import Plugin, check_provided, check_services, resolve_plugins
from .queues import ShopperQueues
from .sender import SendWorker
from .services import Services
from .settings import Settings
from .shopper_regions import ShopperRegions
from .window_record import WindowRecord

log = logging.getLogger(__name__)


STOP_GRACE_SECONDS = 10.0


async def _bounded(step: Any, seconds: float, what: str) -> None:
    try:
        await asyncio.wait_for(step, timeout=seconds)
    except asyncio.TimeoutError:
        log.warning("runtime stop: closing the %s took over %.0fs; abandoned", what, seconds)


class Runtime:
    """Everything one process needs to turn queued events into handled ones."""

    def __init__(self, settings: Settings, redis: Redis, *, registry: HandlerRegistry | None = None,
                 role: str = "worker") -> None:
        self.settings = settings
        self.redis = redis
        self.keys = Keys(settings.page_id)
        self.clock = Clock(redis, self.keys)
        self.registry = HandlerRegistry()
        self.registry.include(tracking.registry)
        self.registry.include(utility_templates.registry)
        self.registry.include(optins.registry)
        if registry is not None:
            self.registry.include(registry)
        self.queues = ShopperQueues(redis, self.keys, lease_ms=int(settings.lease_seconds * 1000))
        self.outbox = Outbox(redis, self.keys, settings.shop_zone)
        self.consent = ConsentStore(redis, self.keys)
        self.window = WindowRecord(redis, self.keys)
        self.regions = ShopperRegions(redis, self.keys)
        self.limits = SendLimits(redis, self.keys, settings)
        self.graph: GraphClient | None = None
        self.sender: SendWorker | None = None
        self.services = Services()
        self.plugins: list[Plugin] = []
        self.context: dict[str, Any] = {
            "redis": redis, "keys": self.keys, "settings": settings, "clock": self.clock, "runtime": self,
            "outbox": self.outbox, "consent": self.consent, "regions": self.regions,
        }
        name = consumer_name(role)
        self.name = name
        self.splitter = InboxSplitter(redis, self.keys, self.queues, name,
                                      instagram_account_id=settings.instagram_account_id)
        self.consumer = EventConsumer(redis, self.keys, self.queues, self.registry, self.context,
                                      name=name, concurrency=settings.worker_concurrency)
        self.splitter.on_queued = self.consumer.wake  # events this process split are claimed without a poll
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: list[Any] = []

    async def load_plugins(self, names: Sequence[str]) -> None:
        """Include each plugin's handlers and run its ``setup(runtime)``, once per plugin; then check
        that every service needed is provided (ConfigError naming the missing one)."""
        plugins = [p for p in resolve_plugins(names) if p.name not in {q.name for q in self.plugins}]
        check_services([*self.plugins, *plugins], self.settings)
        for plugin in plugins:
            if plugin.registry is not None:
                self.registry.include(plugin.registry)
            if plugin.setup is not None:
                result = plugin.setup(self)
                if inspect.isawaitable(result):
                    await result
            self.plugins.append(plugin)
            log.info("plugin %s loaded", plugin.name)
        check_provided(self.plugins, self.services)

    def add_background(self, coroutine_factory: Any) -> None:
        """Run ``coroutine_factory(stop_event)`` alongside the consumers (send workers, schedulers)."""
        self._background.append(coroutine_factory)

    async def open(self) -> SendWorker:
        """Create the Graph client and the send worker (once)."""
        if self.sender is None:
            self.graph = await GraphClient.create(self.settings, limit=max(64, self.settings.send_concurrency * 2))
            self.context["graph"] = self.graph
            self.sender = SendWorker(redis=self.redis, keys=self.keys, settings=self.settings, clock=self.clock,
                                     outbox=self.outbox, consent=self.consent, limits=self.limits,
                                     graph=self.graph, name=self.name)
        return self.sender

    async def start(self) -> None:
        sender = await self.open()
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.splitter.run(self._stop), name="inbox-splitter"),
            asyncio.create_task(self.consumer.run(self._stop), name="event-consumer"),
            asyncio.create_task(sender.run(self._stop), name="send-worker"),
            *(asyncio.create_task(factory(self._stop)) for factory in self._background),
        ]

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop the loops and close clients; each step gets ``grace`` seconds, then is cancelled and logged.

        A loop cancelled for its slowness is waited for (``grace`` again) before the clients close: its
        cleanup still uses them (the send worker closes its own tasks, a cancelled send refunds its take),
        and a send-limit connection used after :meth:`SendLimits.aclose` reconnects, left open.
        """
        self._stop.set()
        if self._tasks:
            done, stuck = await asyncio.wait(self._tasks, timeout=grace)
            for task in stuck:
                log.warning("runtime stop: %s did not finish in %.0fs; cancelled", task.get_name(), grace)
                task.cancel()
            if stuck:
                _, ignoring = await asyncio.wait(stuck, timeout=grace)
                for task in ignoring:  # a cancel swallowed in a library call (redis/redis-py#2028)
                    log.warning("runtime stop: %s still running %.0fs after its cancel; left behind",
                                task.get_name(), grace)
        self._tasks = []
        if self.sender is not None:  # after drain(): its result writer and rate-gate bookings still run
            await _bounded(self.sender.aclose(), grace, "send worker")
        await _bounded(self.limits.aclose(), grace, "send limits")
        if self.graph is not None:
            graph, self.graph, self.sender = self.graph, None, None
            await _bounded(graph.close(), grace, "Graph client")

    async def drain(self, timeout: float = 10.0, *, send: bool = True) -> None:
        """Process until nothing is pending anywhere (tests and burst mode); raises TimeoutError."""
        sender = await self.open() if send else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            split = max(0, await self.splitter.step(block_ms=None))
            drained = await self.consumer.run_once()
            sent = await sender.run_once() if sender else 0
            backlog = await self.queues.backlog()
            if not split and not drained and not sent and backlog["ready"] == 0 and backlog["leased"] == 0 \
                    and await self.splitter.pending() == 0 and (sender is None or await sender.pending() == 0):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"still pending after {timeout}s: {backlog}")
            if not split and not drained and not sent:
                await asyncio.sleep(0.01)
