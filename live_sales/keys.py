"""The live-sale domain's Redis keys: sales, products and claims, blasts and their resumable fan-outs."""

from __future__ import annotations

from dataclasses import dataclass

from bot.keys import Keys


@dataclass(frozen=True, slots=True)
class SaleKeys(Keys):
    """A Page's keys with the live-sale domain's own."""

    # The live-sale domain (live_sales/): sales, blasts and their resumable fan-outs.
    def live_sale(self, sale_id: str) -> str:
        """HASH of one live sale: title, url, topic, status, times, post_ids/products (JSON), video_id."""
        return self.prefix + "ls:sale:" + sale_id

    @property
    def live_sale_seq(self) -> str:
        """Counter behind live-sale ids (``ls-<n>``)."""
        return self.prefix + "ls:seq"

    @property
    def live_sales_all(self) -> str:
        """ZSET sale id -> scheduled ms: every sale, for listing."""
        return self.prefix + "ls:all"

    @property
    def live_sales_scheduled(self) -> str:
        """ZSET sale id -> scheduled ms of sales still ``scheduled`` (the webhook picks the next one)."""
        return self.prefix + "ls:scheduled"

    @property
    def live_sales_live(self) -> str:
        """ZSET sale id -> started ms of sales now ``live``."""
        return self.prefix + "ls:live"

    @property
    def live_sale_links(self) -> str:
        """HASH linked post or live-video id -> sale id (the ``live_videos`` webhook finds its sale here)."""
        return self.prefix + "ls:links"

    # Products and claims of a sale (live_sales/products.py, live_sales/claims.py). A lot is one
    # product's variant, named "<code>|<VARIANT>" ("<code>|" for a product without variants).
    def sale_products(self, sale_id: str) -> str:
        """HASH product code -> the product as JSON (title, price, image_url, variants, added order)."""
        return self.prefix + "ls:products:" + sale_id

    def sale_stock(self, sale_id: str) -> str:
        """HASH lot -> the units the host has of it."""
        return self.prefix + "ls:stock:" + sale_id

    def sale_taken(self, sale_id: str) -> str:
        """HASH lot -> units held by claims ``claimed`` or ``paid`` (left = stock - taken, never below 0)."""
        return self.prefix + "ls:taken:" + sale_id

    def claim_lot(self, sale_id: str, lot: str) -> str:
        """ZSET claim id -> comment ms: the lot's claims not holding units (``pending``, ``waitlisted``),
        in comment-time order (equal times by claim id)."""
        return self.prefix + "ls:lot:" + sale_id + ":" + lot

    def claim_lot_pending(self, sale_id: str, lot: str) -> str:
        """ZSET claim id -> comment ms: the lot's ``pending`` claims (not settled yet), the only ones a
        settle step reads past the head of the line."""
        return self.prefix + "ls:lot-pending:" + sale_id + ":" + lot

    def claim(self, claim_id: str) -> str:
        """HASH of one claim (its id is the comment's): sale, lot, quantity, commenter, times, status."""
        return self.prefix + "ls:claim:" + claim_id

    def sale_claims(self, sale_id: str) -> str:
        """ZSET claim id -> comment ms: every claim of a sale, for the host's view."""
        return self.prefix + "ls:claims:" + sale_id

    def claim_numbers(self, sale_id: str) -> str:
        """HASH what -> count: what the claim steps did for a sale (live_sales/claim_numbers.py)."""
        return self.prefix + "ls:claim-numbers:" + sale_id

    @property
    def claims_due(self) -> str:
        """ZSET claim id -> ms when its answer is settled: ``pending`` claims, for the settler."""
        return self.prefix + "ls:claims-due"

    @property
    def claims_holds(self) -> str:
        """ZSET claim id -> ms its hold runs out: ``claimed`` claims not paid yet (``CLAIM_HOLD_MINUTES``)."""
        return self.prefix + "ls:claims-holds"

    @property
    def claims_unanswered(self) -> str:
        """ZSET claim id -> decided ms: decided claims whose private reply is not queued yet."""
        return self.prefix + "ls:claims-unanswered"

    def broadcast(self, broadcast_id: str) -> str:
        """HASH of one blast: topic, text, url, button, created_ms."""
        return self.prefix + "bc:" + broadcast_id

    @property
    def broadcast_seq(self) -> str:
        """Counter behind blast ids (``bc-<n>``)."""
        return self.prefix + "bc:seq"

    @property
    def broadcasts_all(self) -> str:
        """ZSET blast id -> created ms."""
        return self.prefix + "bc:all"

    def fanout(self, campaign: str) -> str:
        """HASH of a campaign's fan-out: kind, source, topic, phase (snapshot, walk, done), index, eligible,
        state, times."""
        return self.prefix + "fo:" + campaign

    def fanout_recipients(self, campaign: str) -> str:
        """LIST: the campaign's recipient snapshot (PSIDs), walked by index; deleted when the fan-out ends."""
        return self.prefix + "fo-rcpt:" + campaign

    def fanout_lease(self, campaign: str) -> str:
        """The process advancing a fan-out (SET NX PX); expires when that process dies."""
        return self.prefix + "fo-lease:" + campaign

    @property
    def shopper_names(self) -> str:
        """HASH psid -> "fetched_ms|name" from the User Profile API ("" when Meta gave none), for the dashboard."""
        return self.prefix + "ls:names"

    @property
    def fanouts_active(self) -> str:
        """SET of campaigns whose fan-out still has subscribers to queue (polled by every process)."""
        return self.prefix + "fo-active"
