"""A reminder before a scheduled sale ("Starting in 1 hour"), instead of or beside the go-live notification."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.test_live_sales.conftest import Shop

HOUR_S = 3600


async def _in(shop: Shop, hours: float) -> str:
    now = (await shop.call("GET", "/sandbox/clock"))["now_ms"]
    return (datetime.fromtimestamp(now / 1000, tz=timezone.utc) + timedelta(hours=hours)).isoformat()


async def _one_in_the_morning(shop: Shop) -> None:
    """Move the shop's clock to 01:00 UTC (the shop's zone here), so what follows falls in one shop day."""
    now = (await shop.call("GET", "/sandbox/clock"))["now_ms"]
    since_one = (now // 1000 - HOUR_S) % (24 * HOUR_S)
    if since_one:
        await shop.advance(24 * HOUR_S - since_one)


async def _tick(shop: Shop) -> int:
    started = await shop.domain.reminders.run_once()
    await shop.settle()
    return started


async def test_a_reminder_goes_an_hour_before_and_the_start_notifies_again(shop: Shop) -> None:
    await _one_in_the_morning(shop)  # the reminder (03:00) and the start (04:00) on one shop day, whenever it runs
    psid = await shop.subscriber("Rita")
    sale = await shop.sale("Denim drop", scheduled_at=await _in(shop, 3), reminder_minutes=60)
    assert await _tick(shop) == 0  # three hours before: not yet
    await shop.advance(2 * HOUR_S + 60)
    assert await _tick(shop) == 1
    assert await _tick(shop) == 0  # once
    [reminder] = await shop.received(psid)
    assert "Starting in 1 hour: Denim drop" in str(reminder["message"])
    view = await shop.api("GET", f"/api/live-sales/{sale}")
    assert view["reminder"]["numbers"]["sent"] == 1 and view["reminded_at"]
    await shop.advance(HOUR_S)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    # the default SENDS_PER_SHOPPER_PER_DAY=1: the go-live notification the same day is held by the daily limit
    assert len(await shop.received(psid)) == 1
    assert (await shop.api("GET", f"/api/live-sales/{sale}"))["numbers"]["skipped"] == {"frequency": 1}


async def test_the_reminder_can_be_the_only_notification(shop: Shop) -> None:
    psid = await shop.subscriber("Ana")
    sale = await shop.sale("Flash sale", scheduled_at=await _in(shop, 1.5), reminder_minutes=30,
                           notify_at_start=False)
    await shop.advance(HOUR_S + 60)
    assert await _tick(shop) == 1
    assert "Starting in 30 minutes" in str((await shop.received(psid))[0]["message"])
    await shop.advance(26 * HOUR_S)  # a new day: the daily limit would allow the start's notification
    started = await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    assert started["live_sale"]["status"] == "live"
    assert len(await shop.received(psid)) == 1  # nothing at the start
    assert (await shop.api("GET", f"/api/live-sales/{sale}"))["fanout"]["state"] == "none"


async def test_no_reminder_for_a_sale_started_early_and_bad_minutes_are_refused(shop: Shop) -> None:
    psid = await shop.subscriber("Bo")
    sale = await shop.sale("Early", scheduled_at=await _in(shop, 2), reminder_minutes=60)
    await shop.api("POST", f"/api/live-sales/{sale}/start")
    await shop.settle()
    await shop.advance(HOUR_S + 60)
    assert await _tick(shop) == 0  # started already: "starting in 1 hour" would be wrong
    assert len(await shop.received(psid)) == 1
    for bad in (-5, 7 * 24 * 60 + 1, "60", True):
        await shop.api("POST", "/api/live-sales", {"title": "x", "reminder_minutes": bad}, status=422)
