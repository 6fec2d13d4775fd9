"""Every event kind of messenger-platform.md §2 becomes a typed event; bad parts never sink a POST."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
import pytest

from bot.app import create_app
from bot.errors import BadEvent
from bot.events import (
    CommentEvent, DeliveryEvent, EchoEvent, FeedEvent, HandoverEvent, LiveVideoEvent, MarketingOptinEvent,
    MessageEvent, OtnOptinEvent, PostbackEvent, ReadEvent, ReferralEvent, StandbyEvent,
)
from bot.parsing import parse_item, split_body
from bot.runtime import Runtime
from bot.settings import Settings
from bot.storage import connect
from tests.conftest import REDIS_URL, delete_page_keys
from tests.support.webhooks import signed

PAGE = "104455001234567"
U = {"sender": {"id": "7001"}, "recipient": {"id": PAGE}, "timestamp": 1767261599876}


def one(source: str, item: dict[str, Any], time: int = 1767261600123) -> Any:
    items, rejected = split_body({"object": "page", "entry": [{"id": PAGE, "time": time, source: [item]}]})
    assert rejected == [] and len(items) == 1
    return parse_item(items[0])


def test_text_with_quick_reply_and_reply_to() -> None:
    e = one("messaging", {**U, "message": {"mid": "m1", "text": "Daily", "quick_reply": {"payload": "OPTIN"},
                                           "reply_to": {"mid": "m0"}}})
    assert isinstance(e, MessageEvent)
    assert (e.psid, e.text, e.quick_reply_payload, e.reply_to_mid, e.dedupe_key) == ("7001", "Daily", "OPTIN", "m0",
                                                                                     "mid:m1")


def test_attachments_and_sticker() -> None:
    e = one("messaging", {**U, "message": {"mid": "m2", "attachments": [
        {"type": "image", "payload": {"url": "https://cdn/x.jpg", "sticker_id": 369239263222822}},
        {"type": "fallback", "payload": {"url": "https://l"}, "title": "Link"}]}})
    assert isinstance(e, MessageEvent) and e.text is None
    assert [(a.type, a.sticker_id, a.title) for a in e.attachments] == [("image", 369239263222822, None),
                                                                        ("fallback", None, "Link")]


def test_echo_is_keyed_by_the_shopper() -> None:
    e = one("messaging", {"sender": {"id": PAGE}, "recipient": {"id": "7001"}, "timestamp": 1,
                          "message": {"is_echo": True, "app_id": 263902037430900, "mid": "m3", "text": "hi"}})
    assert isinstance(e, EchoEvent) and e.psid == "7001" and e.app_id == "263902037430900"


def test_postback_with_referral() -> None:
    e = one("messaging", {**U, "postback": {"mid": "pb1", "title": "Get Started", "payload": "GET_STARTED",
                                            "referral": {"ref": "june", "source": "SHORTLINK", "type": "OPEN_THREAD"}}})
    assert isinstance(e, PostbackEvent) and e.payload == "GET_STARTED" and e.referral and e.referral.ref == "june"
    assert e.dedupe_key == "pb:pb1"


def test_referral() -> None:
    e = one("messaging", {**U, "referral": {"ref": "ad", "source": "ADS", "type": "OPEN_THREAD", "ad_id": "9"}})
    assert isinstance(e, ReferralEvent) and e.referral and e.referral.ad_id == "9"


@pytest.mark.parametrize("raw_status,status", [(None, None), ("STOP_NOTIFICATIONS", "STOP_NOTIFICATIONS"),
                                               ("resume notifications", "RESUME_NOTIFICATIONS")])
def test_marketing_optin_stop_and_resume(raw_status: str | None, status: str | None) -> None:
    optin = {"type": "notification_messages", "payload": "{\"topic\":\"daily\"}", "title": "Get daily reminders",
             "notification_messages_token": "NMT-1", "notification_messages_timezone": "Asia/Manila",
             "notification_messages_frequency": "DAILY", "user_token_status": "NOT_REFRESHED"}
    if raw_status:
        optin["notification_messages_status"] = raw_status
    e = one("messaging", {**U, "optin": optin})
    assert isinstance(e, MarketingOptinEvent)
    assert (e.token, e.timezone, e.status) == ("NMT-1", "Asia/Manila", status)


def test_otn_optin() -> None:
    e = one("messaging", {**U, "optin": {"type": "one_time_notif_req", "payload": "LIVE", "one_time_notif_token": "O"}})
    assert isinstance(e, OtnOptinEvent) and e.token == "O"


def test_delivery_and_read_watermarks() -> None:
    d = one("messaging", {**U, "delivery": {"mids": ["m_1"], "watermark": 1767261700000}})
    r = one("messaging", {**U, "read": {"watermark": 1767261700000}})
    assert isinstance(d, DeliveryEvent) and d.mids == ("m_1",) and d.dedupe_key == "dlv:7001:1767261700000"
    assert isinstance(r, ReadEvent) and r.watermark == 1767261700000


def test_handover() -> None:
    e = one("messaging", {**U, "pass_thread_control": {"new_owner_app_id": "1", "metadata": "x"}})
    assert isinstance(e, HandoverEvent) and e.action == "pass_thread_control"


@pytest.mark.parametrize("verb", ["add", "edited", "remove"])
def test_feed_comment_verbs_and_seconds_timestamps(verb: str) -> None:
    e = one("changes", {"field": "feed", "value": {"item": "comment", "verb": verb, "comment_id": "9_1",
                                                   "post_id": "1_9", "parent_id": "1_9",
                                                   "from": {"id": "6102", "name": "Ana"}, "message": "LIVE",
                                                   "created_time": 1767262999}}, time=1767263000)
    assert isinstance(e, CommentEvent)
    assert (e.verb, e.from_id, e.timestamp, e.is_reply) == (verb, "6102", 1767262999000, False)
    assert e.dedupe_key == f"cmt:9_1:{verb}"


def test_other_feed_items_and_live_video() -> None:
    assert isinstance(one("changes", {"field": "feed", "value": {"item": "reaction", "verb": "add"}}), FeedEvent)
    e = one("changes", {"field": "live_videos", "value": {"id": "2000", "status": "LIVE"}}, time=1767264000)
    assert isinstance(e, LiveVideoEvent) and e.status == "live" and e.timestamp == 1767264000000


def test_standby_wraps_the_inner_event() -> None:
    e = one("standby", {**U, "message": {"mid": "s1", "text": "hi"}})
    assert isinstance(e, StandbyEvent) and isinstance(e.inner, MessageEvent) and e.ordering_key == "u:7001"


@pytest.mark.parametrize("item,reason", [
    ({**U, "mystery": {}}, "unknown_kind"),
    ({"recipient": {"id": PAGE}, "timestamp": 1, "message": {"mid": "x"}}, "missing_field"),
    ({**U, "message": {"text": "no mid"}}, "missing_field"),
    ({**U, "optin": {"type": "weird"}}, "unknown_kind"),
])
def test_unknown_or_incomplete_items_raise_bad_event(item: dict[str, Any], reason: str) -> None:
    with pytest.raises(BadEvent) as info:
        one("messaging", item)
    assert info.value.reason == reason


def test_a_bad_entry_does_not_sink_the_others() -> None:
    items, rejected = split_body({"object": "page", "entry": [
        5, {"id": PAGE}, {"id": PAGE, "time": 1, "messaging": "nope"},
        {"id": PAGE, "time": 1, "messaging": [7, {**U, "message": {"mid": "ok", "text": "x"}}]}]})
    assert [r.reason for r in rejected] == ["malformed_entry", "unknown_entry", "malformed_entry", "malformed_item"]
    assert len(items) == 1


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)
ids = st.one_of(st.just(PAGE), st.text(max_size=4), st.integers(), st.none())
message_like = st.fixed_dictionaries({}, optional={
    "sender": st.fixed_dictionaries({"id": ids}), "recipient": st.fixed_dictionaries({"id": ids}),
    "timestamp": st.one_of(st.integers(), st.text(max_size=3)),
    "message": st.one_of(json_any, st.fixed_dictionaries({"mid": ids}, optional={"text": st.text(max_size=20),
                                                                               "is_echo": st.booleans()})),
    "postback": json_any, "optin": json_any, "delivery": json_any, "read": json_any, "referral": json_any})
change_like = st.fixed_dictionaries({}, optional={"field": st.sampled_from(["feed", "live_videos", "x"]),
                                                  "value": json_any})
entry = st.fixed_dictionaries({}, optional={"id": ids, "time": st.one_of(st.integers(), json_leaf),
                                            "messaging": st.one_of(st.lists(message_like, max_size=3), json_any),
                                            "changes": st.lists(change_like, max_size=3),
                                            "standby": st.lists(message_like, max_size=2)})
bodies = st.one_of(json_any, st.fixed_dictionaries({"object": st.sampled_from(["page", "user"]),
                                                    "entry": st.one_of(st.lists(entry, max_size=3), json_any)}))


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_arbitrary_bodies_never_5xx_and_never_crash_a_consumer(body: Any) -> None:
    asyncio.run(_post_and_drain(body))


async def _post_and_drain(body: Any) -> None:
    settings = Settings(sandbox=False, page_id=PAGE + "9", redis_url=REDIS_URL, lease_seconds=1.0)
    redis = connect(REDIS_URL)
    runtime = Runtime(settings, redis)
    handled: list[str] = []

    @runtime.registry.on("*")
    async def seen(event) -> None:  # type: ignore[no-untyped-def]
        handled.append(event.kind)

    raw = json.dumps(body).replace(PAGE, settings.page_id).encode()
    raw, headers = signed(raw, settings.app_secret.reveal())
    async with TestClient(TestServer(create_app(settings, redis, runtime=runtime, run_workers=False))) as client:
        resp = await client.post("/webhook", data=raw, headers=headers)
        assert resp.status in (200, 400), resp.status
        await runtime.drain(timeout=5)
        assert await redis.xlen(runtime.keys.dead_letters) == 0
    await delete_page_keys(redis, runtime.keys)
    await redis.aclose()
