"""Claim comments under a live sale's video or linked posts: recorded, released, told apart (§2.9).

A ``feed`` comment is a claim when its text parses as one (:mod:`live_sales.claim_words`, the
shop's ``CLAIM_WORDS``), it is under a post or live video linked to a sale that is ``live``, and
the code is one of that sale's products (and a variant is named only for a product that has
some). Such a comment is the claims' to answer: this module
provides :data:`bot.ports.CLAIM_COMMENTS`, which the dialogue asks before its keyword reply, so
"SOLD 12" never also gets the opt-in answer; every other comment goes through the dialogue.

- ``verb: add``: a claim is recorded once per comment id (:mod:`live_sales.claims`); a claim
  that names no variant of a product with several (or one it has not) gets a private reply
  asking which, and claims nothing;
- ``verb: remove`` (the comment was deleted) releases its claim: held units go to the waitlist;
- ``verb: edited`` claims nothing: a comment claims at most once, with its first text;
- the Page's own comments (``from.id`` = the Page) are never claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels import INSTAGRAM, channel_of
from bot.events import CommentEvent
from bot.outbox import Outbox

from .claim_replies import variant_question
from .claim_words import ClaimWords, ParsedClaim
from .claims import ClaimBook, NewClaim
from .model import LiveSale
from .products import Product, ProductStore
from .store import SaleStore


@dataclass(frozen=True, slots=True)
class Match:
    sale: LiveSale
    product: Product
    claim: ParsedClaim


class ClaimComments:
    """Implements :class:`bot.ports.ClaimComments`, and turns claim comments into claims."""

    def __init__(self, sales: SaleStore, products: ProductStore, words: ClaimWords, book: ClaimBook,
                 outbox: Outbox) -> None:
        self._sales = sales
        self._products = products
        self._words = words
        self._book = book
        self._outbox = outbox

    async def live_sale_of(self, post_id: str) -> LiveSale | None:
        """The live sale a post or live video (``<page>_<video>`` or the bare id) is linked to."""
        for candidate in dict.fromkeys((post_id, post_id.rsplit("_", 1)[-1])):
            sale = await self._sales.sale_for_video(candidate) if candidate else None
            if sale is not None:
                return sale if sale.status == "live" else None
        return None

    async def match(self, post_id: str, message: str | None) -> Match | None:
        parsed = self._words.parse(message)
        if parsed is None:
            return None
        sale = await self.live_sale_of(post_id)
        product = await self._products.get(sale.id, parsed.code) if sale is not None else None
        if sale is None or product is None or (parsed.variant and not product.variants):
            return None  # "mine 7 LIVE" for a product with no variants is no claim
        return Match(sale, product, parsed)

    async def is_claim(self, post_id: str, message: str | None) -> bool:
        return await self.match(post_id, message) is not None

    async def handle(self, event: CommentEvent) -> None:
        if event.from_id == event.page_id or not event.comment_id:
            return
        if event.verb == "remove":
            if await self.live_sale_of(event.post_id) is not None or await self._book.get(event.comment_id):
                await self._book.change(event.comment_id, "released")
            return
        if event.verb != "add":
            return
        found = await self.match(event.post_id, event.message)
        if found is None:
            return
        variant = found.product.variant_named(found.claim.variant)
        if variant is None:
            await self._outbox.enqueue(variant_question(
                event.comment_id, event.timestamp, found.sale.id, found.product.title, found.product.code,
                [name for name, _ in found.product.variants], channel_of(event.from_id), live_media(event)))
            await self._book.count(found.sale.id, "asked_variant")
            return
        await self._book.record(NewClaim(
            claim_id=event.comment_id, sale_id=found.sale.id, code=found.product.code, variant=variant,
            quantity=found.claim.quantity, psid=event.from_id, name=event.from_name or "",
            comment_ms=event.timestamp, message=event.message or "", title=found.product.title,
            live_media=live_media(event)))


def live_media(event: CommentEvent) -> str:
    """The Instagram live video a comment came under ('' for any other comment): a private reply to it may go
    only while that live is broadcast (:mod:`bot.instagram_live`)."""
    return event.post_id if event.live and event.channel == INSTAGRAM else ""

