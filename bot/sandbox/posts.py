"""The Page's posts and live videos, and shoppers' comments on them (``feed``/``live_videos`` changes).

With ``"channel": "instagram"`` a post is a media of the Page's Instagram account (a live one with
``live: true``) and its comments come as ``object: instagram`` changes of field ``comments`` (or
``live_comments``), from Instagram shoppers only (:mod:`bot.sandbox.instagram`). Instagram sends no
webhook when a live ends (``POST /posts/{id}/live`` only changes its status: the bot asks
``GET /{ig-user-id}/live_media``), and none for a comment on a live after it ended: "comment
notifications for live media stop when the broadcast ends" (Meta's Instagram webhooks page [C]).
"""

from __future__ import annotations

from aiohttp import web

from .context import SANDBOX, Sandbox, event_time, read_json, required_text
from .errors import BadRequest, Conflict, NotFound
from .instagram import account_of, channel_of_body, comment_change, instagram_changes_body, on_instagram
from .webhooks import changes_body, comment_value

WEBHOOK_LIVE_STATUSES = ("live", "live_stopped", "vod")


async def create_post(request: web.Request) -> web.Response:
    """``{message, live}``: a post, or a live video that starts now (``live_videos`` status ``live``)."""
    sandbox = request.app[SANDBOX]
    body = await read_json(request)
    message = body.get("message", "")
    live = body.get("live", False)
    if not isinstance(message, str) or not isinstance(live, bool):
        raise BadRequest("message must be a string and live true or false")
    channel = channel_of_body(body)
    if channel == "instagram":
        account_of(sandbox)  # 409 for a Page without an Instagram account
    now = await sandbox.clock.now_ms()
    post_id, live_video_id = await sandbox.state.create_post(message, live, now, channel)
    answer: dict[str, object] = {"post_id": post_id, "channel": channel}
    if live_video_id and channel == "instagram":
        answer["live_video_id"] = live_video_id  # Instagram sends no live_videos webhook [U]
    elif live_video_id:
        answer["live_video_id"] = live_video_id
        value = {"id": live_video_id, "status": "live"}
        delivery = await sandbox.webhooks.post(changes_body(sandbox.page_id, now, "live_videos", value))
        answer.update(delivery.as_json())
    return web.json_response(answer)


async def comment(request: web.Request) -> web.Response:
    """``{psid, message}``: the shopper comments on the post; a ``feed`` change reaches the bot.

    A comment does not open the messaging window; it allows one private reply within 7 days.
    """
    sandbox = request.app[SANDBOX]
    post_id = request.match_info["post_id"]
    post = await _post(sandbox, post_id)
    body = await read_json(request)
    psid, message = required_text(body, "psid"), required_text(body, "message")
    shopper = await sandbox.state.shopper(psid)
    if shopper is None:
        raise NotFound(f"no shopper {psid}")
    if on_instagram(post) != on_instagram(shopper):
        raise Conflict("an Instagram post takes comments from Instagram shoppers only, a Page post from "
                       "Messenger shoppers only")
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    comment_id = await sandbox.state.create_comment(post_id, psid, timestamp)
    if on_instagram(post):
        live = bool(post["live_video_id"]) and await _is_live(sandbox, post["live_video_id"])
        if post["live_video_id"] and not live:  # the broadcast ended: Meta's comment notifications stopped
            return web.json_response({"comment_id": comment_id, "timestamp": timestamp, "webhook_status": None})
        field, ig_value = comment_change(comment_id, psid, shopper["name"], message, post_id, live, timestamp)
        delivery = await sandbox.webhooks.post(instagram_changes_body(account_of(sandbox), now, field, ig_value))
        return web.json_response({"comment_id": comment_id, "timestamp": timestamp, **delivery.as_json()})
    value = comment_value(post_id, comment_id, psid, shopper["name"], message, timestamp // 1000,
                          bool(post["live_video_id"]))
    delivery = await sandbox.webhooks.post(changes_body(sandbox.page_id, now, "feed", value))
    return web.json_response({"comment_id": comment_id, "timestamp": timestamp, **delivery.as_json()})


async def live_status(request: web.Request) -> web.Response:
    """``{status}``: the post's live video changes status (``live``, ``live_stopped``, ``vod``)."""
    sandbox = request.app[SANDBOX]
    post = await _post(sandbox, request.match_info["post_id"])
    status = (await read_json(request)).get("status")
    if status not in WEBHOOK_LIVE_STATUSES:
        raise BadRequest("status must be one of " + ", ".join(WEBHOOK_LIVE_STATUSES))
    live_video_id = post["live_video_id"]
    if not live_video_id:
        raise Conflict("this post is not a live video (create it with live: true)")
    await sandbox.state.set_live_status(live_video_id, status)
    if on_instagram(post):
        return web.json_response({"live_video_id": live_video_id, "status": status})
    now = await sandbox.clock.now_ms()
    value = {"id": live_video_id, "status": status}
    delivery = await sandbox.webhooks.post(changes_body(sandbox.page_id, now, "live_videos", value))
    return web.json_response({"live_video_id": live_video_id, "status": status, **delivery.as_json()})


async def _is_live(sandbox: Sandbox, live_video_id: str) -> bool:
    video = await sandbox.state.live_video(live_video_id)
    return bool(video) and video.get("status") == "LIVE"  # type: ignore[union-attr]


async def _post(sandbox: Sandbox, post_id: str) -> dict[str, str]:
    post = await sandbox.state.post(post_id)
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post
