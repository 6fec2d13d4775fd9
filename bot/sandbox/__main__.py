"""Run the sandbox on its own: ``python -m bot.sandbox`` (PORT, REDIS_URL, SANDBOX_WEBHOOK_URL)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..settings import Settings
from ..storage import open_redis
from .app import create_sandbox_app


async def serve(settings: Settings) -> None:
    redis, embedded = await open_redis(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
    runner = web.AppRunner(create_sandbox_app(settings, redis), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        logging.getLogger(__name__).info("sandbox on http://%s:%d/sandbox/, webhooks to %s",
                                         settings.host, settings.port, settings.webhook_url)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await redis.aclose()
        if embedded:
            await embedded.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    try:
        asyncio.run(serve(Settings.from_env()))
    except KeyboardInterrupt:  # Ctrl-C: the runner was cleaned up on the way out
        pass


if __name__ == "__main__":
    main()
