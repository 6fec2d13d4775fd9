"""Property: no signed body, however malformed, gets a 5xx or stops the next shopper being answered.

Issue 8 (finding 2 and its fuzz run): each example posts a few signed bodies through the
real app on a loopback port (well-formed Messenger items of every kind, the same items
corrupted anywhere, random JSON and random bytes), then a canary message from a shopper
never seen before; after ``runtime.drain()`` the canary must have been handled, and drain
returning means nothing is left pending anywhere.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis

from bot.app import create_app
from bot.keys import Keys
from bot.runtime import Runtime
from bot.settings import Settings
from tests.support import recording
from tests.support.webhooks import message_item, messaging_body, signed

PAGE = "@page@"  # replaced by the test's own Page id once the body is serialised
BIG, NAN = "@1e400@", "@NaN@"  # become the bare JSON tokens 1e400 (read as inf) and NaN (not RFC 8259)
_canaries = itertools.count(1)

psids = st.sampled_from(["6001", "6002", "6003"])
stamps = st.one_of(st.integers(1_700_000_000_000, 1_800_000_000_000), st.integers(1_700_000_000, 1_800_000_000))
texts = st.one_of(st.text(max_size=12), st.sampled_from(["LIVE", "stop", "hi \ud83d", "\udc00", "caf\u00e9 \U0001f600"]))
mids = st.text("abcdef0123456789", min_size=1, max_size=6).map(lambda s: "m_" + s)


def _messaging(kind: str, body: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda psid, ts, value: {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": ts,
                                              kind: value}, psids, stamps, body)


messages = _messaging("message", st.fixed_dictionaries({"mid": mids}, optional={
    "text": texts, "quick_reply": st.fixed_dictionaries({"payload": texts}),
    "reply_to": st.fixed_dictionaries({"mid": mids}),
    "attachments": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["image", "fallback", "audio"]),
                                                   "payload": st.fixed_dictionaries({}, optional={
                                                       "url": st.just("https://cdn/x.jpg"),
                                                       "sticker_id": st.integers(1, 10**15)})}), max_size=2)}))
postbacks = _messaging("postback", st.fixed_dictionaries({"payload": texts}, optional={
    "mid": mids, "title": texts, "referral": st.fixed_dictionaries({"ref": texts, "source": st.just("SHORTLINK")})}))
optins = _messaging("optin", st.one_of(
    st.fixed_dictionaries({"type": st.just("notification_messages"), "notification_messages_token": mids,
                           "payload": st.just('{"topic":"daily_reminders"}'), "title": texts},
                          optional={"notification_messages_status": st.sampled_from(["STOP_NOTIFICATIONS",
                                                                                      "RESUME_NOTIFICATIONS"]),
                                    "token_expiry_timestamp": stamps}),
    st.fixed_dictionaries({"type": st.just("one_time_notif_req"), "one_time_notif_token": mids, "payload": texts})))
deliveries = _messaging("delivery", st.fixed_dictionaries({"watermark": stamps, "mids": st.lists(mids, max_size=3)}))
reads = _messaging("read", st.fixed_dictionaries({"watermark": stamps}))
echoes = st.builds(lambda psid, ts, mid, text: {"sender": {"id": PAGE}, "recipient": {"id": psid}, "timestamp": ts,
                                                "message": {"is_echo": True, "app_id": 263902037430900, "mid": mid,
                                                            "text": text}}, psids, stamps, mids, texts)
comments = st.builds(lambda cid, psid, text, ts: {"field": "feed", "value": {
    "item": "comment", "verb": "add", "comment_id": cid, "post_id": "p_1", "parent_id": "p_1",
    "from": {"id": psid, "name": "Ana"}, "message": text, "created_time": ts}}, mids, psids, texts, stamps)
live_videos = st.builds(lambda vid, status: {"field": "live_videos", "value": {"id": vid, "status": status}},
                        st.sampled_from(["v1", "v2"]), st.sampled_from(["live", "live_stopped", "LIVE"]))
messaging_items = st.one_of(messages, postbacks, optins, deliveries, reads, echoes)
change_items = st.one_of(comments, live_videos)

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=False,
                      allow_infinity=False), st.text(max_size=6), st.sampled_from([BIG, "\ud83d", "", 10**400]))
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10)
deep = st.integers(2, 120).map(lambda n: json.loads("[" * n + "]" * n))
nasty = st.one_of(json_any, deep, st.sampled_from([BIG, NAN, "\ud83d", [], {}, "", 0, -1, True, 10**20]))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that a corruption can hit (dict keys and list indexes)."""
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, prefix + (i,))
    return found


@st.composite
def corrupted(draw: st.DrawFn, items: st.SearchStrategy[dict[str, Any]]) -> Any:
    """A well-formed item with one or two faults: a value replaced, a key dropped or added, or not an object."""
    item = json.loads(json.dumps(draw(items)))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(_paths(item)))
        action = draw(st.sampled_from(["replace", "replace", "drop", "extra", "whole"]))
        if action == "whole" or not path:
            return draw(nasty)
        parent = item
        for step in path[:-1]:
            parent = parent[step]
        if action == "replace":
            parent[path[-1]] = draw(nasty)
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(nasty)
    return item


def entries(source: str, items: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    mixed = st.lists(st.one_of(items, corrupted(items)), min_size=1, max_size=4)
    return st.builds(lambda page, ts, values: {"id": page, "time": ts, source: values},
                     st.sampled_from([PAGE, PAGE, PAGE, "123456789", 5, None]), stamps,
                     st.one_of(mixed, mixed, mixed, nasty))


page_bodies = st.builds(lambda entries: {"object": "page", "entry": entries}, st.lists(st.one_of(
    entries("messaging", messaging_items), entries("standby", messaging_items), entries("changes", change_items),
    json_any), min_size=1, max_size=3))


def serialise(body: Any, page_id: str) -> bytes:
    """JSON with lone surrogates escaped as Meta would (``\\ud83d``), then the markers swapped for bare tokens."""
    text = json.dumps(body)  # ensure_ascii: a lone surrogate goes out as its \\u escape
    return (text.replace(json.dumps(BIG), "1e400").replace(json.dumps(NAN), "NaN")
            .replace(PAGE, page_id).encode())


bodies = st.one_of(page_bodies, page_bodies, page_bodies, json_any, st.binary(max_size=200))


@pytest.fixture
async def bot(serve, settings: Settings, redis: Redis) -> Any:  # type: ignore[no-untyped-def]
    runtime = Runtime(settings, redis)
    runtime.registry.include(recording.registry)
    client = await serve(create_app(settings, redis, runtime=runtime, run_workers=False))
    yield client, runtime
    await runtime.stop()


@hsettings(max_examples=60, deadline=None, derandomize=True, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                  HealthCheck.data_too_large])
@given(posted=st.lists(bodies, min_size=1, max_size=3))
async def test_no_body_gets_a_5xx_or_keeps_the_next_shopper_waiting(bot: tuple[TestClient, Runtime],
                                                                      settings: Settings, redis: Redis,
                                                                      keys: Keys, posted: list[Any]) -> None:
    client, runtime = bot
    secret = settings.app_secret.reveal()
    for body in posted:
        raw, headers = signed(body if isinstance(body, bytes) else serialise(body, settings.page_id), secret)
        resp = await client.post("/webhook", data=raw, headers=headers)
        assert resp.status in (200, 400), (resp.status, raw[:300])
    n = next(_canaries)
    psid, mid = f"canary-{n}", f"m_canary_{n}"
    canary, headers = signed(messaging_body(settings.page_id, message_item(settings.page_id, psid, "canary",
                                                                           mid=mid)), secret)
    assert (await client.post("/webhook", data=canary, headers=headers)).status == 200
    await runtime.drain(timeout=20)  # returns only once nothing is pending anywhere
    handled = await redis.lrange(recording.handled_key(keys), 0, -1)
    assert f"u:{psid} mid:{mid} canary".encode() in handled
