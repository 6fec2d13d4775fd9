"""Every event kind of messenger-platform.md §2 becomes a typed event; bad parts never sink a POST."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.app import create_app
from bot.errors import BadEvent
from bot.events import (
    EVENT_KINDS,
    CommentEvent,
    DeliveryEvent,
    EchoEvent,
    FeedEvent,
    HandoverEvent,
    LiveVideoEvent,
    MarketingOptinEvent,
    MessageEvent,
    OtnOptinEvent,
    PostbackEvent,
    RawItem,
    ReadEvent,
    ReferralEvent,
    StandbyEvent,
    TemplateStatusEvent,
)
from bot.parsing import REJECT_REASONS, events_of_body, parse_item, split_body
from bot.runtime import Runtime
from bot.settings import Settings
from bot.storage import connect
from tests.conftest import REDIS_CLUSTER, REDIS_URL, delete_page_keys
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


def test_a_template_status_update() -> None:
    e = one("changes", {"field": "message_template_status_update", "value": {
        "event": "APPROVED", "message_template_id": 9100000000000001, "message_template_name": "salebell_order_shipped",
        "message_template_language": "en_US", "reason": "NONE"}}, time=1767264000)
    assert isinstance(e, TemplateStatusEvent) and e.kind == "template_status"
    assert (e.template_id, e.name, e.language, e.status) == ("9100000000000001", "salebell_order_shipped", "en_US",
                                                             "APPROVED")
    assert e.ordering_key == "tpl:salebell_order_shipped" and e.timestamp == 1767264000000


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
    redis = connect(REDIS_URL, cluster=REDIS_CLUSTER)
    await redis.ping()
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


# -- finding 2 of issue 8: one malformed item costs only itself ---------------------------------

GOOD = '{"sender":{"id":"7001"},"recipient":{"id":"%s"},"timestamp":1767261599876,' \
       '"message":{"mid":"good","text":"fine"}}' % PAGE
S = '"sender":{"id":"7002"},"recipient":{"id":"%s"},"timestamp":1767261599877' % PAGE
DEEP = "[" * 80 + "]" * 80

# (source, the malformed item as raw JSON text, what it becomes: an event kind or a rejection reason)
MALFORMED = [
    ("messaging", '{"sender":{"id":"7002"},"recipient":{"id":"1"},"timestamp":NaN,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":{"id":"7002"},"recipient":{"id":"1"},"timestamp":Infinity,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":{"id":"7002"},"recipient":{"id":"1"},"timestamp":-Infinity,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":{"id":"7002"},"recipient":{"id":"1"},"timestamp":1e400,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":{"id":"7002"},"recipient":{"id":"1"},"timestamp":1e300,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{%s,"delivery":{"mids":5,"watermark":1767261700000}}' % S, "delivery"),
    ("messaging", '{%s,"delivery":{"mids":"m_1","watermark":1e400}}' % S, "delivery"),
    ("messaging", '{%s,"delivery":{"mids":[5,{"a":1},"m_2"],"watermark":NaN}}' % S, "delivery"),
    ("messaging", '{%s,"message":{"mid":"b","attachments":5}}' % S, "message"),
    ("messaging", '{%s,"message":{"mid":"b","attachments":{"type":"image"}}}' % S, "message"),
    ("messaging", '{%s,"message":{"mid":"b","attachments":[5,{"type":5,"payload":7},'
                  '{"type":"image","payload":{"sticker_id":1e400,"url":["x"]}}]}}' % S, "message"),
    ("messaging", r'{%s,"message":{"mid":"b","text":"\ud83d"}}' % S, "message"),
    ("messaging", r'{%s,"message":{"mid":"b\udc00","text":"ok \udfff end"}}' % S, "message"),
    ("messaging", r'{%s,"message":{"mid":"b","text":"x","\ud800key":{"\udbff":"\ud83d"}}}' % S, "message"),
    ("messaging", '{%s,"message":{"mid":"b","quick_reply":"x","reply_to":"m0"}}' % S, "message"),
    ("messaging", '{%s,"message":{"mid":"b","quick_reply":{"payload":{"a":1}},"reply_to":{"mid":5}}}' % S,
     "message"),
    ("messaging", '{%s,"message":"text"}' % S, "missing_field"),
    ("messaging", '{%s,"message":{"mid":{"a":1},"text":"x"}}' % S, "missing_field"),
    ("messaging", '{"sender":{"id":{"x":1}},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":{"id":true},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"b"}}',
     "missing_field"),
    ("messaging", '{"sender":"7002","recipient":{"id":"1"},"timestamp":1,"message":{"mid":"b"}}', "missing_field"),
    ("messaging", '{%s,"postback":"x"}' % S, "missing_field"),
    ("messaging", '{%s,"postback":{"mid":5,"title":[],"payload":5,"referral":5}}' % S, "postback"),
    ("messaging", '{%s,"postback":{"payload":"P","referral":{"ref":{"a":1},"source":5}}}' % S, "postback"),
    ("messaging", '{%s,"referral":5}' % S, "referral"),
    ("messaging", '{%s,"optin":{"type":"notification_messages","notification_messages_token":"T",'
                  '"token_expiry_timestamp":1e400,"title":5,"notification_messages_status":["x"]}}' % S,
     "marketing_optin"),
    ("messaging", '{%s,"optin":{"type":"notification_messages","notification_messages_token":"T",'
                  '"token_expiry_timestamp":NaN}}' % S, "marketing_optin"),
    ("messaging", '{%s,"optin":{"type":"notification_messages","notification_messages_token":{"a":1}}}' % S,
     "missing_field"),
    ("messaging", '{%s,"optin":{"type":"one_time_notif_req","one_time_notif_token":[1]}}' % S, "missing_field"),
    ("messaging", '{%s,"optin":{"type":{"a":[1]}}}' % S, "unknown_kind"),
    ("messaging", '{%s,"optin":"x"}' % S, "missing_field"),
    ("messaging", '{"sender":{"id":"%s"},"recipient":{"id":"7002"},"timestamp":1,"message":{"is_echo":true,'
                  '"mid":"e","app_id":{"x":1},"metadata":{"a":1},"text":7}}' % PAGE, "echo"),
    ("messaging", '{%s,"read":{"watermark":"x"}}' % S, "read"),
    ("messaging", '{%s,"read":5}' % S, "missing_field"),
    ("messaging", '{%s,"pass_thread_control":5}' % S, "handover"),
    ("messaging", '{%s,"pass_thread_control":{"metadata":{"a":1}}}' % S, "handover"),
    ("messaging", '{%s,"message":{"mid":"b","text":"x","deep":%s}}' % (S, DEEP), "malformed_item"),
    ("messaging", '{%s,"message":{"mid":"b"},"extra":{"unexpected":[1,2,{"k":null}]}}' % S, "message"),
    ("messaging", '[1,2]', "malformed_item"),
    ("messaging", '"x"', "malformed_item"),
    ("messaging", 'null', "malformed_item"),
    ("standby", '{%s,"message":{"mid":"s","attachments":"x","text":"\\ud83d"}}' % S, "standby"),
    ("standby", '{%s,"delivery":{"mids":7}}' % S, "standby"),
    ("changes", '{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"c","post_id":"p",'
                '"from":"x","message":"m"}}', "missing_field"),
    ("changes", '{"field":"feed","value":{"item":"comment","comment_id":"c","post_id":"p",'
                '"from":{"id":{"x":1}}}}', "missing_field"),
    ("changes", '{"field":"feed","value":{"item":"comment","verb":5,"comment_id":"c","post_id":"p",'
                '"from":{"id":"5","name":7},"message":5,"created_time":NaN,"parent_id":[1]}}', "comment"),
    ("changes", '{"field":"feed","value":{"item":"comment","comment_id":[1],"post_id":"p","from":{"id":"5"}}}',
     "missing_field"),
    ("changes", r'{"field":"feed","value":{"item":"comment","comment_id":"c","post_id":"p\udfff",'
                r'"from":{"id":"5","name":"Ana \ud83d"},"created_time":1e400}}', "comment"),
    ("changes", '{"field":"feed","value":5}', "missing_field"),
    ("changes", '{"field":"feed","value":{"item":{"a":1},"verb":["add"],"post_id":5}}', "feed"),
    ("changes", '{"field":"live_videos","value":{"id":"v","status":[1]}}', "missing_field"),
    ("changes", '{"field":"live_videos","value":{"id":{"a":1},"status":"live"}}', "missing_field"),
    ("changes", '{"field":["feed"],"value":{}}', "unknown_kind"),
    ("changes", '7', "malformed_item"),
    ("changes", '{"field":"message_template_status_update","value":{"event":"APPROVED",'
                '"message_template_name":"t"}}', "missing_field"),
    ("changes", '{"field":"message_template_status_update","value":{"event":"EATEN","message_template_id":1,'
                '"message_template_name":"t"}}', "unknown_kind"),
    ("changes", '{"field":"message_template_status_update","value":{"event":["APPROVED"],'
                '"message_template_id":1,"message_template_name":"t"}}', "missing_field"),
    ("changes", '{"field":"message_template_status_update","value":{"event":"REJECTED",'
                '"message_template_id":{"a":1},"message_template_name":"t"}}', "missing_field"),
    ("changes", '{"field":"message_template_status_update","value":{"event":"rejected",'
                '"message_template_id":12,"message_template_name":"t","reason":5}}', "template_status"),
]


def body_text(source: str, bad: str) -> str:
    """An entry of ``source`` holding the malformed item, and a messaging entry with a good message after it."""
    return ('{"object":"page","entry":[{"id":"%s","time":1767261600123,"%s":[%s]},'
            '{"id":"%s","time":1767261600124,"messaging":[%s]}]}' % (PAGE, source, bad, PAGE, GOOD))


def split_then_parse(body: Any) -> tuple[list[Any], list[str]]:
    """What a splitter and a consumer do with a stored body: split, queue as UTF-8, parse the queued item."""
    items, rejected = split_body(body)
    events, reasons = [], [r.reason for r in rejected]
    for raw in items:
        queued = raw.to_json().encode("utf-8")
        try:
            events.append(parse_item(RawItem.from_json(queued)))
        except BadEvent as exc:
            reasons.append(exc.reason)
    return events, reasons


def outcome(events: list[Any], reasons: list[str]) -> str:
    """What became of the malformed item, after checking the good one came out as itself."""
    good = [e for e in events if isinstance(e, MessageEvent) and e.mid == "good"]
    assert len(good) == 1 and good[0].text == "fine", (events, reasons)
    others = [e.kind for e in events if e not in good]
    assert len(others) + len(reasons) == 1, (events, reasons)
    return others[0] if others else reasons[0]


@pytest.mark.parametrize("source,bad,expected", MALFORMED)
def test_a_malformed_item_costs_only_itself(source: str, bad: str, expected: str) -> None:
    events, reasons = split_then_parse(json.loads(body_text(source, bad)))
    assert outcome(events, reasons) == expected
    for e in events:  # the splitter keys and dedupes each event: neither may fail
        assert e.ordering_key and e.dedupe_key


@pytest.mark.parametrize("source,bad,expected", MALFORMED)
def test_events_of_body_isolates_every_malformed_item(source: str, bad: str, expected: str) -> None:
    parsed, rejected = events_of_body(body_text(source, bad).encode())
    assert outcome([p.event for p in parsed], [r.reason for r in rejected]) == expected
    assert {r.reason for r in rejected} <= set(REJECT_REASONS)
    for p in parsed:
        queued = p.raw.to_json().encode("utf-8")  # valid UTF-8: every lone surrogate is now U+FFFD
        again = parse_item(RawItem.from_json(queued))
        assert (again.kind, again.dedupe_key, again.ordering_key) == (p.event.kind, p.event.dedupe_key,
                                                                      p.event.ordering_key)


def test_lone_surrogates_become_replacement_characters_everywhere_in_the_item() -> None:
    bad = r'{%s,"message":{"mid":"b","text":"buy \ud83d","\udc00k":["\ud800"]}}' % S
    parsed, _ = events_of_body(body_text("messaging", bad).encode())
    event = next(p.event for p in parsed if isinstance(p.event, MessageEvent) and p.event.mid == "b")
    assert isinstance(event, MessageEvent) and event.text == "buy \ufffd"
    assert event.raw["message"]["\ufffdk"] == ["\ufffd"]


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe", b"[1]", b'{"object":"page"}', b"NaN",
                                  b"[" * 100_000, b'{"object":"page","entry":' + b"[" * 5000 + b"]" * 5000 + b"}",
                                  b'{"object":"page","entry":[1,' + b"9" * 5000 + b"]}"])
def test_events_of_body_rejects_a_body_that_is_not_a_page_event(body: bytes) -> None:
    parsed, rejected = events_of_body(body)
    assert parsed == [] and [r.reason for r in rejected] == ["malformed_body"]


@pytest.mark.parametrize("payload", [b"", b"{}", b"[]", b"nope", b'{"p":"1","s":"messaging","t":1,"i":5}',
                                     b'{"p":1,"s":"messaging","t":1,"i":{}}', b'{"p":"1","s":"x","t":1,"i":{}}',
                                     b'{"p":"1","s":"messaging","t":"1","i":{}}', b"[" * 100_000])
def test_a_queued_item_that_is_not_a_raw_item_raises_bad_event_only(payload: bytes) -> None:
    with pytest.raises(BadEvent) as info:
        parse_item(RawItem.from_json(payload))
    assert info.value.reason == "malformed_item"


async def test_malformed_items_in_a_posted_body_cost_only_themselves(serve, redis) -> None:  # type: ignore[no-untyped-def]
    from tests.support import recording  # noqa: PLC0415

    page = PAGE[:-1] + "8"
    settings = Settings(sandbox=False, page_id=page, redis_url=REDIS_URL, lease_seconds=1.0)
    runtime = Runtime(settings, redis)
    runtime.registry.include(recording.registry)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False))
    bad = [b for source, b, _ in MALFORMED if source == "messaging"
           and "NaN" not in b and "Infinity" not in b and "deep" not in b]  # the webhook refuses those bodies
    text = ('{"object":"page","entry":[{"id":"%s","time":1767261600123,"messaging":[%s]},'
            '{"id":"%s","time":1767261600124,"messaging":[%s]}]}' % (PAGE, ",".join(bad), PAGE, GOOD))
    raw, headers = signed(text.replace(PAGE, page).encode(), settings.app_secret.reveal())
    try:
        assert (await client.post("/webhook", data=raw, headers=headers)).status == 200
        await runtime.drain(timeout=10)
        handled = [x.decode() for x in await redis.lrange(recording.handled_key(runtime.keys), 0, -1)]
        assert "u:7001 mid:good fine" in handled
    finally:
        await runtime.stop()
        await delete_page_keys(redis, runtime.keys)
