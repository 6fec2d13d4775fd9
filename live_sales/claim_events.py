"""The ``feed`` comment handler of the live-sale plugin: every comment goes to the claims
(:class:`live_sales.claim_comments.ClaimComments` decides what is a claim; the rest is the dialogue's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.events import CommentEvent
from bot.handlers import HandlerRegistry

from .service import domain_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

registry = HandlerRegistry()


@registry.on("comment")
async def claim_comment(event: CommentEvent, runtime: Runtime) -> None:
    await domain_of(runtime).claim_comments.handle(event)
