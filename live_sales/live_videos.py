"""The Page's ``live_videos`` webhook: going live starts the sale, stopping ends it (§2.10).

The webhook layer already drops redelivered events (dedupe by ``(video, status)``)
and hands one video's events over in order; starting itself is idempotent
(:mod:`live_sales.scripts`), so an API start racing this webhook still notifies once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.events import LiveVideoEvent
from bot.handlers import HandlerRegistry

from .service import domain_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

registry = HandlerRegistry()

STOPPED = ("live_stopped", "vod")


@registry.on("live_video")
async def on_live_video(event: LiveVideoEvent, runtime: Runtime) -> None:
    domain = domain_of(runtime)
    if event.status == "live":
        await domain.go_live(event.video_id, runtime.graph)
    elif event.status in STOPPED:
        await domain.video_stopped(event.video_id)
