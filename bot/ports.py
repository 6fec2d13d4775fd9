"""The contracts plugins offer each other through :mod:`bot.services`.

The runtime defines them so that neither side imports the other: the live-sales plugin
provides them, the dialogue uses them.

- :data:`NEXT_LIVE_SALE` — the sale live now, else the next scheduled one ("when is the next live?");
- :data:`LINKED_POSTS` — whether a post or live video is linked to a sale (``COMMENT_OPTIN_SCOPE=linked``:
  only comments under those get the keyword's private reply);
- :data:`CLAIM_COMMENTS` — whether a comment claims a product of a live sale ("SOLD 12" under the
  sale's live video): the claims plugin answers it, so the dialogue leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from .batched_reads import Staged
from .services import Service

__all__ = ["CLAIM_COMMENTS", "LINKED_POSTS", "NEXT_LIVE_SALE", "ClaimComments", "LinkedPosts", "NextLiveSale",
           "UpcomingSale"]


@dataclass(frozen=True)
class UpcomingSale:
    """A live sale as a shopper asking about it needs it."""

    title: str
    starts_at_ms: int  # when it started, if ``live``; else when it is scheduled
    url: str
    live: bool


@runtime_checkable
class NextLiveSale(Protocol):
    async def next_live_sale(self, now_ms: int | None = None) -> UpcomingSale | None:
        """The sale live now (the latest started), else the next scheduled one, else None.

        ``now_ms``: the caller's "now" on the deployment clock (a dialogue turn reads it once), else read."""
        ...

    def stage_next_live_sale(self, pipe: Any) -> Staged[UpcomingSale | None] | None:
        """The same, from the deployment clock's now, read in the caller's pipeline with its other reads
        (:mod:`bot.batched_reads`); None where it cannot be (a Redis Cluster pipeline): then ask
        :meth:`next_live_sale`."""
        ...

    async def learn(self) -> None:
        """After a staged read's NOSCRIPT: run its script once by itself, so the server knows it."""
        ...


@runtime_checkable
class LinkedPosts(Protocol):
    async def is_linked(self, post_id: str) -> bool:
        """True if the post or live video is linked to a live sale."""
        ...


@runtime_checkable
class ClaimComments(Protocol):
    async def is_claim(self, post_id: str, message: str | None) -> bool:
        """True if a comment with this text under this post claims a product of a live sale."""
        ...


NEXT_LIVE_SALE: Service[NextLiveSale] = Service("the next live sale", NextLiveSale)
LINKED_POSTS: Service[LinkedPosts] = Service("the posts linked to a live sale", LinkedPosts)
CLAIM_COMMENTS: Service[ClaimComments] = Service("the claim comments of a live sale", ClaimComments)
