"""The live-sale domain in one object per process: what the API, the webhook and the CLI drive.

:func:`live_sales.setup` puts one :class:`LiveSales` in the runtime's context
(``live_sales``) and runs its fan-out runner as a background task of the runtime.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.graph import GraphError

from .claim_comments import ClaimComments
from .claim_words import DEFAULT_CLAIM_WORDS, ClaimWords
from .claims import ClaimBook, script_args
from .fanout import FanoutRunner
from .messages import check_fits, for_broadcast
from .model import Broadcast, LiveSale, iso
from .numbers import campaign_numbers
from .products import ProductStore
from .reminders import ReminderScheduler
from .store import BroadcastStore, SaleStore, Transition

if TYPE_CHECKING:
    from bot.graph import GraphClient
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

LIVE_VIDEO_FIELDS = ("status", "title", "description", "permalink_url")
PAST_START_GRACE_MS = 60_000  # a host's clock a little behind the server's is not "in the past"


class PastStart(ValueError):
    """A sale scheduled to start before now: nobody could be reminded of it."""


class LiveSales:
    """Sales, blasts, their fan-outs and numbers, for one Page."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.redis = runtime.redis
        self.keys = runtime.keys
        self.clock = runtime.clock
        self.outbox = runtime.outbox
        self.sales = SaleStore(runtime.redis, runtime.keys)
        self.broadcasts = BroadcastStore(runtime.redis, runtime.keys)
        self.reminders = ReminderScheduler(self.sales, self.clock)
        self.runner = FanoutRunner(runtime.redis, runtime.keys, runtime.outbox, runtime.settings, runtime.name)
        self.products = ProductStore(runtime.redis, runtime.keys, script_args(runtime.keys, runtime.settings))
        self.claims = ClaimBook(runtime.redis, runtime.keys, runtime.outbox, runtime.settings)
        self.claim_comments = ClaimComments(self.sales, self.products,
                                            ClaimWords(runtime.settings.claim_words or DEFAULT_CLAIM_WORDS),
                                            self.claims, runtime.outbox)

    # -- live sales ------------------------------------------------------------
    async def create_sale(self, *, title: str, url: str, topic: str | None, scheduled_ms: int | None,
                          post_ids: list[str], products: list[str], reminder_minutes: int = 0,
                          notify_at_start: bool = True) -> LiveSale:
        """A scheduled sale; ``scheduled_ms`` None means now, and a time already past is refused (PastStart)."""
        now = await self.clock.now_ms()
        if scheduled_ms is not None and scheduled_ms < now - PAST_START_GRACE_MS:
            raise PastStart(f"scheduled_at {iso(scheduled_ms)} is in the past (it is {iso(now)} now); "
                            "leave it out to schedule the sale for now")
        return await self.sales.create(title=title, url=url, topic=topic or self.settings.optin_topic,
                                       scheduled_ms=scheduled_ms or now, now_ms=now, post_ids=post_ids,
                                       products=products, reminder_minutes=reminder_minutes,
                                       notify_at_start=notify_at_start)

    async def start(self, sale_id: str, trigger: str) -> Transition:
        """Start the sale (``trigger``: api, cli, webhook); its fan-out runs in the background."""
        now = await self.clock.now_ms()
        result = await self.sales.start(sale_id, now_ms=now, trigger=trigger)
        if result.started:
            log.info("live sale %s started by %s", sale_id, trigger)
            if result.sale is not None and result.sale.reminded_ms:  # "starting in 1 hour" is stale now
                await self.runner.cancel(result.sale.reminder_campaign, now)
        return result

    async def end(self, sale_id: str) -> Transition:
        return await self.sales.end(sale_id, now_ms=await self.clock.now_ms())

    async def go_live(self, video_id: str, graph: GraphClient | None) -> Transition | None:
        """The Page's live video went live: start its sale (or attach, or create one); None if it is not live."""
        info: dict[str, Any] = {}
        if graph is not None:
            try:
                info = await graph.get_live_video(video_id, LIVE_VIDEO_FIELDS)
            except GraphError as exc:  # go on without title and link: the sale's own are used
                log.warning("live video %s: could not read it (%s)", video_id, exc.reason)
        status = str(info.get("status") or "LIVE").upper()
        if status != "LIVE":
            log.info("live video %s reported live but is %s now; not starting", video_id, status)
            return None
        title = str(info.get("title") or info.get("description") or "We're live")
        url = str(info.get("permalink_url") or f"https://www.facebook.com/{video_id}/")
        result = await self.sales.claim_for_video(
            video_id, post_id=f"{self.settings.page_id}_{video_id}", now_ms=await self.clock.now_ms(),
            title=title[:200], url=url, topic=self.settings.optin_topic)
        log.info("live video %s: sale %s %s", video_id, result.sale.id if result.sale else "-", result.outcome)
        return result

    async def video_stopped(self, video_id: str) -> Transition | None:
        """The live video stopped: end its sale if it is live."""
        sale = await self.sales.sale_for_video(video_id)
        if sale is None or sale.status != "live":
            return None
        return await self.end(sale.id)

    async def sale_view(self, sale: LiveSale) -> dict[str, Any]:
        """The sale with its fan-out's progress and numbers, and its claims' (the API's and the CLI's view)."""
        view = {**sale.to_json(), **await self.campaign_view(sale.id), "claims": await self.claims.numbers(sale.id)}
        if sale.reminder_minutes:
            view["reminder"] = await self.campaign_view(sale.reminder_campaign)
        return view

    # -- blasts ----------------------------------------------------------------
    async def broadcast(self, *, topic: str | None, text: str, url: str, button_title: str) -> Broadcast:
        """Record a blast; its fan-out starts at once. PayloadError (nothing stored) if Messenger would refuse it."""
        draft = Broadcast(id="-", topic="-", text=text, url=url, button_title=button_title)
        check_fits(draft, self.settings.marketing_path)
        for_broadcast(draft)
        return await self.broadcasts.create(topic=topic or self.settings.optin_topic, text=text, url=url,
                                            button_title=button_title, now_ms=await self.clock.now_ms())

    async def broadcast_view(self, blast: Broadcast) -> dict[str, Any]:
        return {**blast.to_json(), **await self.campaign_view(blast.id)}

    # -- fan-outs --------------------------------------------------------------
    async def cancel(self, campaign: str) -> bool | None:
        return await self.runner.cancel(campaign, await self.clock.now_ms())

    async def campaign_view(self, campaign: str) -> dict[str, Any]:
        """``fanout`` (state, phase, eligible) and ``numbers`` of a campaign; ``complete`` when all is handled."""
        raw = await self.runner.record(campaign)
        eligible = int(raw.get("eligible", 0))
        numbers = campaign_numbers(await self.outbox.numbers(campaign=campaign), eligible)
        state = raw.get("state", "none")
        fanout = {"state": state, "phase": raw.get("phase"), "eligible": eligible,
                  "complete": state in ("done", "cancelled") and numbers["pending"] == 0}
        return {"fanout": fanout, "numbers": numbers}


CONTEXT_NAME = "live_sales"


def domain_of(runtime: Runtime) -> LiveSales:
    """The process's :class:`LiveSales` (made on first use if ``setup`` has not run)."""
    domain = runtime.context.get(CONTEXT_NAME)
    if not isinstance(domain, LiveSales):
        domain = runtime.context[CONTEXT_NAME] = LiveSales(runtime)
    return domain
