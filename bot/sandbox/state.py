"""What the sandbox knows about shoppers, their tokens and the Page's posts, kept in Redis.

Everything lives under ``SandboxKeys.sandbox_prefix``, so the sandbox survives a
restart and several web processes share it.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from ..keys import Keys
from ..scripts import register_script
from . import ids
from .keys import SandboxKeys
from .ledger import text

_TOUCH_LUA = """
local current = tonumber(redis.call('HGET', KEYS[1], 'last_action_ms')) or 0
if tonumber(ARGV[1]) > current then redis.call('HSET', KEYS[1], 'last_action_ms', ARGV[1]) end
return 1
"""


def _decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {text(k): text(v) for k, v in raw.items()}


def thread_owner_of(shopper: dict[str, str], default: int) -> int:
    """The app owning the thread, from the shopper's record (``SandboxState.shopper``); ``default``: ours."""
    value = shopper.get("thread_owner", "")
    return int(value) if value.isdigit() else default


class SandboxState:
    """Shoppers, opt-in requests, tokens, posts, comments and the Messenger profile."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = SandboxKeys.of(keys)
        self._touch = register_script(redis, _TOUCH_LUA)

    # -- shoppers ------------------------------------------------------------
    async def create_shopper(self, name: str, timezone: str, now_ms: int, locale: str = "en_US",
                             channel: str = "messenger") -> str:
        """A new shopper's id: a PSID, or an IGSID for ``channel`` ``instagram`` (both numeric, as Meta's)."""
        while True:
            psid = ids.new_psid()
            key = self._keys.sandbox_shopper(psid)
            if await self._redis.hsetnx(key, "created_ms", now_ms):
                await self._redis.hset(key, mapping={"name": name, "timezone": timezone, "locale": locale,
                                                     "channel": channel})
                await self._redis.zadd(self._keys.sandbox_shoppers, {psid: now_ms})
                return psid

    async def shopper(self, psid: str) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self._keys.sandbox_shopper(psid))
        return _decode(raw) if raw else None

    async def touch(self, psid: str, timestamp: int) -> None:
        """The shopper acted at ``timestamp``: the window runs from the latest such action."""
        await self._touch(keys=[self._keys.sandbox_shopper(psid)], args=[timestamp])

    async def set_fields(self, psid: str, fields: dict[str, str]) -> None:
        await self._redis.hset(self._keys.sandbox_shopper(psid), mapping=fields)  # type: ignore[arg-type]

    async def thread_owner(self, psid: str, default: int) -> int:
        """The app owning the shopper's thread (``bot.sandbox.handover``); ``default``: ours."""
        raw = await self._redis.hget(self._keys.sandbox_shopper(psid), "thread_owner")
        return thread_owner_of({"thread_owner": text(raw) if raw else ""}, default)

    async def set_blocked(self, psid: str, blocked: bool) -> None:
        await self._redis.hset(self._keys.sandbox_shopper(psid), "blocked", "1" if blocked else "0")

    async def inbox(self, psid: str, last: int | None = None) -> list[dict[str, Any]]:
        start = -last if last else 0
        return [json.loads(row) for row in await self._redis.lrange(self._keys.sandbox_inbox(psid), start, -1)]

    async def shoppers(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest shoppers' records (psid, name, channel, created_ms, last_action_ms), most recently active
        first."""
        psids = [text(p) for p in await self._redis.zrevrange(self._keys.sandbox_shoppers, 0, limit - 1)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for psid in psids:
                pipe.hmget(self._keys.sandbox_shopper(psid), ["name", "created_ms", "last_action_ms", "channel"])
            rows = await pipe.execute()
        found = [{"psid": psid, "name": text(name or b""), "channel": text(channel) if channel else "messenger",
                  "created_ms": int(created or 0), "last_action_ms": int(last or 0) or None}
                 for psid, (name, created, last, channel) in zip(psids, rows) if created is not None]
        # At the same millisecond a shopper who acted ranks above one who was only created.
        return sorted(found, key=lambda s: (s["last_action_ms"] or s["created_ms"], s["last_action_ms"] is not None),
                      reverse=True)

    async def record_said(self, psid: str, entry: dict[str, Any]) -> None:
        """Keep what the shopper sent (``kind``, ``text``, ``timestamp``, ...) for the thread view."""
        await self._redis.rpush(self._keys.sandbox_said(psid), json.dumps(entry, separators=(",", ":")))

    async def thread(self, psid: str) -> list[dict[str, Any]]:
        """Both sides of the conversation in time order, each entry marked ``from``: ``shopper`` or ``page``.

        At the same millisecond the shopper's entry comes first (the Page answered it).
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self._keys.sandbox_said(psid), 0, -1)
            pipe.lrange(self._keys.sandbox_inbox(psid), 0, -1)
            said, received = await pipe.execute()
        rows = [(json.loads(r), 0) for r in said] + [(json.loads(r), 1) for r in received]
        rows.sort(key=lambda row: (int(row[0].get("timestamp") or 0), row[1]))
        return [{**entry, "from": "shopper" if side == 0 else "page"} for entry, side in rows]

    async def deliver(self, psid: str, entry: dict[str, Any]) -> None:
        """Put a message sent outside the Graph API (the Page Inbox) in the shopper's inbox."""
        await self._redis.rpush(self._keys.sandbox_inbox(psid), json.dumps(entry, separators=(",", ":")))

    # -- opt-in requests and tokens -------------------------------------------
    async def optin_request(self, psid: str, title: str) -> dict[str, Any] | None:
        """The latest opt-in card with ``title`` the shopper received, with ``tapped`` set if used."""
        key = self._keys.sandbox_optin_requests(psid)
        request, tapped = await self._redis.hmget(key, [title, "tapped:" + title])
        if request is None:
            return None
        record: dict[str, Any] = json.loads(request)
        record["tapped"] = tapped is not None and int(tapped) == record["at_ms"]
        return record

    async def mark_tapped(self, psid: str, title: str, at_ms: int) -> None:
        await self._redis.hset(self._keys.sandbox_optin_requests(psid), "tapped:" + title, at_ms)

    async def nm_token_of(self, psid: str, title: str) -> str | None:
        token = await self._redis.hget(self._keys.sandbox_nm_tokens_of(psid), title)
        return text(token) if token is not None else None

    async def issue_nm_token(self, psid: str, title: str, payload: str, now_ms: int) -> str:
        """The shopper's token for this topic: the same one on a re-opt-in (and active again)."""
        token = await self.nm_token_of(psid, title)
        if token is None:
            token = ids.new_nm_token()
            if not await self._redis.hsetnx(self._keys.sandbox_nm_tokens_of(psid), title, token):
                return await self.issue_nm_token(psid, title, payload, now_ms)
            await self._redis.hset(self._keys.sandbox_nm_token(token), mapping={
                "psid": psid, "title": title, "created_ms": now_ms})
        await self._redis.hset(self._keys.sandbox_nm_token(token), mapping={"payload": payload, "stopped": "0"})
        return token

    async def nm_token(self, token: str) -> dict[str, str]:
        return _decode(await self._redis.hgetall(self._keys.sandbox_nm_token(token)))

    async def set_stopped(self, token: str, stopped: bool) -> None:
        await self._redis.hset(self._keys.sandbox_nm_token(token), "stopped", "1" if stopped else "0")

    async def issue_otn_token(self, psid: str, title: str, payload: str, created_ms: int) -> str:
        token = ids.new_otn_token()
        await self._redis.hset(self._keys.sandbox_otn_token(token), mapping={
            "psid": psid, "title": title, "payload": payload, "created_ms": created_ms})
        return token

    # -- posts, live videos and comments --------------------------------------
    async def create_post(self, message: str, live: bool, now_ms: int, channel: str = "messenger"
                          ) -> tuple[str, str | None]:
        """A Page post (``<page id>_<n>``), or an Instagram media (its own numeric id, ``channel`` instagram).

        A Facebook live video has an id of its own beside its post's; an Instagram live is one media, whose
        id its ``live_comments`` carry (``media.id``), so its live video's id is the media's."""
        post_id = ids.digits(17) if channel == "instagram" else f"{self._keys.page_id}_{ids.digits(15)}"
        live_video_id = (post_id if channel == "instagram" else ids.digits(15)) if live else None
        await self._redis.hset(self._keys.sandbox_post(post_id), mapping={
            "message": message, "created_ms": now_ms, "live_video_id": live_video_id or "", "channel": channel})
        if live_video_id:
            await self._redis.hset(self._keys.sandbox_live_video(live_video_id), mapping={
                "post_id": post_id, "title": message, "status": "LIVE", "created_ms": now_ms})
            if channel == "instagram":
                await self._redis.sadd(self._keys.sandbox_instagram_lives, post_id)
        return post_id, live_video_id

    async def instagram_lives_now(self) -> list[str]:
        """The media ids of the Instagram account's live videos being broadcast now (status ``LIVE``)."""
        found = []
        for media_id in sorted(text(m) for m in await self._redis.smembers(self._keys.sandbox_instagram_lives)):
            post = await self.post(media_id)
            video = await self.live_video(post["live_video_id"]) if post and post.get("live_video_id") else None
            if video and video.get("status") == "LIVE":
                found.append(media_id)
        return found

    async def post(self, post_id: str) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self._keys.sandbox_post(post_id))
        return _decode(raw) if raw else None

    async def live_video(self, live_video_id: str) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self._keys.sandbox_live_video(live_video_id))
        return _decode(raw) if raw else None

    async def set_live_status(self, live_video_id: str, status: str) -> None:
        await self._redis.hset(self._keys.sandbox_live_video(live_video_id), "status", status.upper())

    async def comment(self, comment_id: str) -> dict[str, str] | None:
        raw = await self._redis.hgetall(self._keys.sandbox_comment(comment_id))
        return _decode(raw) if raw else None

    async def channels(self, psids: list[str]) -> dict[str, str]:
        """Each shopper's channel (``messenger`` for one without a record), in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for psid in psids:
                pipe.hget(self._keys.sandbox_shopper(psid), "channel")
            found = await pipe.execute()
        return {psid: text(c) if c else "messenger" for psid, c in zip(psids, found)}

    async def create_comment(self, post_id: str, psid: str, created_ms: int) -> str:
        comment_id = f"{post_id.split('_')[-1]}_{ids.digits(16)}"
        await self._redis.hset(self._keys.sandbox_comment(comment_id), mapping={
            "psid": psid, "post_id": post_id, "created_ms": created_ms})
        return comment_id

    # -- Messenger profile ----------------------------------------------------
    async def profile(self) -> dict[str, Any]:
        raw = await self._redis.hgetall(self._keys.sandbox_profile)
        return {text(k): json.loads(v) for k, v in raw.items()}

    async def set_profile(self, fields: dict[str, Any]) -> None:
        mapping = {k: json.dumps(v) for k, v in fields.items()}
        await self._redis.hset(self._keys.sandbox_profile, mapping=mapping)  # type: ignore[arg-type]

    async def delete_profile(self, names: list[str]) -> None:
        await self._redis.hdel(self._keys.sandbox_profile, *names)

    # -- everything -----------------------------------------------------------
    async def set_subscribed_fields(self, fields: list[str]) -> None:
        """The webhook fields the app is installed with on the Page (``subscribed_apps``)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._keys.sandbox_subscribed_fields)
            if fields:
                pipe.rpush(self._keys.sandbox_subscribed_fields, *fields)
            await pipe.execute()

    async def subscribed_fields(self) -> list[str]:
        return [text(f) for f in await self._redis.lrange(self._keys.sandbox_subscribed_fields, 0, -1)]

    async def reset(self) -> int:
        """Delete every sandbox record of this Page (not the clock, which the bot shares)."""
        deleted = 0
        batch: list[Any] = []
        async for key in self._redis.scan_iter(match=self._keys.sandbox_prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            deleted += await self._redis.unlink(*batch)
        return deleted
