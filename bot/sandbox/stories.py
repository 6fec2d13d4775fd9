"""Instagram stories in the sandbox (issue 15): a shopper replies to the account's story, or mentions the
account in their own story; either reaches the bot as an ``object: instagram`` message webhook.

- ``POST /sandbox/shoppers/{psid}/story-replies {"text", "story_id"?}``: a message with
  ``reply_to.story`` ``{"id", "url"}`` (the shape public integrations read; Meta's example for it
  was not read in full [U]);
- ``POST /sandbox/shoppers/{psid}/story-mentions {}``: a message with one attachment
  ``{"type": "story_mention", "payload": {"url": <CDN URL>}}`` (Meta's story-mention page [C]).

Both are Instagram's only: a Messenger shopper's call is 409, as a comment across channels is. Each
is a message from the shopper, so it touches their window as any message does (for a story reply
Meta's window rule is a message's; for a mention it is not documented [U]: treated the same).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import ids
from .context import Sandbox, event_time, read_json, required_text, shopper_of
from .errors import BadRequest, Conflict
from .handover import owned_by_other_app
from .instagram import on_instagram, post_for
from .shoppers import said
from .webhooks import from_shopper, messaging_body

CDN = "https://sandbox.invalid/stories"  # where the sandbox's story media "are": never fetched


async def story_reply(request: web.Request) -> web.Response:
    """``{text, story_id?}``: the shopper answers the account's story (a new story id if none is given)."""
    sandbox, psid, shopper = await shopper_of(request)
    _instagram_only(shopper)
    body = await read_json(request)
    text = required_text(body, "text")
    story_id = body.get("story_id", ids.digits(17))
    if not isinstance(story_id, str) or not story_id:
        raise BadRequest("story_id must be a non-empty string")
    message = {"mid": ids.new_mid(), "text": text,
               "reply_to": {"story": {"id": story_id, "url": f"{CDN}/{story_id}.jpg"}}}
    return await _post(sandbox, psid, shopper, body, message, "story_reply", text, story_id=story_id)


async def story_mention(request: web.Request) -> web.Response:
    """``{}``: the shopper mentions the account in their story."""
    sandbox, psid, shopper = await shopper_of(request)
    _instagram_only(shopper)
    body = await read_json(request)
    url = f"{CDN}/{ids.digits(17)}.mp4"
    message = {"mid": ids.new_mid(), "attachments": [{"type": "story_mention", "payload": {"url": url}}]}
    return await _post(sandbox, psid, shopper, body, message, "story_mention",
                       "📣 mentioned you in their story", url=url)


def _instagram_only(shopper: dict[str, str]) -> None:
    if not on_instagram(shopper):
        raise Conflict("stories are Instagram's: this shopper is on Messenger")


async def _post(sandbox: Sandbox, psid: str, shopper: dict[str, str], body: dict[str, Any],
                message: dict[str, Any], kind: str, said_text: str, **extra: str) -> web.Response:
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    await sandbox.state.touch(psid, timestamp)
    await said(sandbox, psid, kind, said_text, timestamp, mid=message["mid"], **extra)
    items = [from_shopper(sandbox.page_id, psid, timestamp, message=message)]
    standby = await owned_by_other_app(sandbox, psid)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, items, standby=standby))
    return web.json_response({"mid": message["mid"], "timestamp": timestamp, **extra, **delivery.as_json()})
