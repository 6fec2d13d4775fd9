"""Issue 11: for a shopper who opted out, Get Started's welcome ended on a colon with nothing after it
("…so you never miss a deal:") because the opt-in card that should follow is not sent to them."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.test_dialogue.test_dialogue import Serve, cards, chat, opt_in, start_bot, tap, texts


async def test_welcome_never_ends_on_a_colon_without_its_card(serve: Serve, redis: Redis, page_id: str) -> None:
    bot = await start_bot(serve, redis, page_id)
    try:
        opted_out, subscribed, new = await bot.shopper("Olive"), await bot.shopper("Sam"), await bot.shopper("Nia")
        await chat(bot, opted_out, "stop")
        await chat(bot, subscribed, "LIVE")
        await opt_in(bot, subscribed)
        for psid in (opted_out, subscribed):
            got = await tap(bot, psid)
            assert not cards(got)
            welcome = texts(got)[0]
            assert "welcome" in welcome.lower() and not welcome.rstrip().endswith(":"), welcome
        said_to_opted_out = texts(await bot.inbox(opted_out))[-1]
        assert "LIVE" in said_to_opted_out  # how to get reminders back
        got = await tap(bot, new)
        assert texts(got)[0].rstrip().endswith(":") and cards(got)  # the card follows the colon
    finally:
        await bot.runtime.stop()
