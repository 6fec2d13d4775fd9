"""The shopper API: people who message the Page, tap buttons, opt in and stop.

Each call that makes an event updates the sandbox's records first (so the
bot's answer already sees an open window), then POSTs the signed webhook and
answers once the bot has accepted it, with the bot's status as ``webhook_status``.
What the shopper sent is kept too (``GET /shoppers/{psid}/thread`` shows both sides).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import ids
from .context import SANDBOX, Sandbox, event_time, read_json, required_text, shopper_of
from .errors import BadRequest, Conflict
from .handover import owned_by_other_app
from .instagram import account_of, channel_of_body, on_instagram, post_for
from .webhooks import PAGE_INBOX_APP_ID, echo, from_shopper, messaging_body, nm_optin

DAY_MS = 24 * 3600 * 1000
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LOCALE = "en_US"


async def create_shopper(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    body = await read_json(request)
    name = required_text(body, "name")
    timezone = body.get("timezone") or DEFAULT_TIMEZONE
    locale = body.get("locale") or DEFAULT_LOCALE  # the User Profile API's locale (bot.region_lookup)
    channel = channel_of_body(body)
    if channel == "instagram":
        account_of(sandbox)  # 409 for a Page without an Instagram account
    psid = await sandbox.state.create_shopper(name, str(timezone), await sandbox.clock.now_ms(), str(locale),
                                              channel)
    return web.json_response({"psid": psid, "name": name, "timezone": timezone, "locale": locale,
                              "channel": channel})


async def list_shoppers(request: web.Request) -> web.Response:
    """Every shopper (newest 200), most recently active first: the Page inbox's list."""
    return web.json_response({"shoppers": await request.app[SANDBOX].state.shoppers()})


async def thread(request: web.Request) -> web.Response:
    """Both sides of the shopper's conversation, oldest first; each entry's ``from`` is ``shopper`` or ``page``;
    ``channel``: the shopper's (the chat page shows it)."""
    sandbox, psid, shopper = await shopper_of(request)
    return web.json_response({"psid": psid, "name": shopper["name"], "channel": _channel(shopper),
                              "messages": await sandbox.state.thread(psid)})


def _channel(shopper: dict[str, str]) -> str:
    return "instagram" if on_instagram(shopper) else "messenger"


async def said(sandbox: Sandbox, psid: str, kind: str, text: str, timestamp: int, **extra: Any) -> None:
    await sandbox.state.record_said(psid, {"kind": kind, "text": text, "timestamp": timestamp, **extra})


async def show_shopper(request: web.Request) -> web.Response:
    sandbox, psid, shopper = await shopper_of(request)
    now = await sandbox.clock.now_ms()
    last = int(shopper.get("last_action_ms") or 0)
    return web.json_response({
        "psid": psid, "name": shopper["name"], "timezone": shopper["timezone"],
        "channel": _channel(shopper),
        "last_action_ms": last or None, "window_open": now - last < DAY_MS,
        "blocked": shopper.get("blocked") == "1",
        "thread_owner": "page_inbox" if await owned_by_other_app(sandbox, psid) else "bot",
        "thread_requested": bool(shopper.get("thread_requested"))})


async def send_message(request: web.Request) -> web.Response:
    """``{text}`` or ``{quick_reply: {payload, title?}}``, optional ``referral``, ``standby`` (also on
    standby, whatever it says, while the Page Inbox owns the thread: ``bot.sandbox.handover``)."""
    sandbox, psid, shopper = await shopper_of(request)
    body = await read_json(request)
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    items: list[dict[str, Any]] = []
    referral = body.get("referral")
    if referral is not None:
        if not isinstance(referral, dict):
            raise BadRequest("referral must be an object like {ref, source, type}")
        items.append(from_shopper(sandbox.page_id, psid, timestamp, referral=referral))
    message = await _message(sandbox, psid, body)
    if message:
        items.append(from_shopper(sandbox.page_id, psid, timestamp, message=message))
    if not items:
        raise BadRequest("send text, quick_reply, attachments or referral")
    await sandbox.state.touch(psid, timestamp)
    if message:
        kind = "quick_reply" if "quick_reply" in message else "message"
        await said(sandbox, psid, kind, str(message.get("text") or "📎 attachment"), timestamp, mid=message["mid"])
    standby = bool(body.get("standby")) or await owned_by_other_app(sandbox, psid)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, items, standby=standby))
    return web.json_response({"mid": message["mid"] if message else None, "timestamp": timestamp,
                              **delivery.as_json()})


async def _message(sandbox: Sandbox, psid: str, body: dict[str, Any]) -> dict[str, Any] | None:
    quick_reply, text, attachments = body.get("quick_reply"), body.get("text"), body.get("attachments")
    if quick_reply is not None:
        if not isinstance(quick_reply, dict) or not quick_reply.get("payload"):
            raise BadRequest("quick_reply must be {payload, title?}")
        payload = str(quick_reply["payload"])
        title = quick_reply.get("title") or await _quick_reply_title(sandbox, psid, payload)
        return {"mid": ids.new_mid(), "text": title, "quick_reply": {"payload": payload}}
    if text is None and attachments is None:
        return None
    message: dict[str, Any] = {"mid": ids.new_mid()}
    if text is not None:
        if not isinstance(text, str) or not text:
            raise BadRequest("text must be a non-empty string")
        message["text"] = text
    if attachments is not None:
        if not isinstance(attachments, list):
            raise BadRequest("attachments must be a list of {type, payload}")
        message["attachments"] = attachments
    return message


async def _quick_reply_title(sandbox: Sandbox, psid: str, payload: str) -> str:
    """The title the shopper saw on the latest quick reply with this payload (else the payload)."""
    for entry in reversed(await sandbox.state.inbox(psid, last=50)):
        for reply in entry.get("message", {}).get("quick_replies") or []:
            if str(reply.get("payload")) == payload and reply.get("title"):
                return str(reply["title"])
    return payload


async def send_postback(request: web.Request) -> web.Response:
    """``{payload, title}``; without ``payload`` the shopper taps Get Started (the profile's payload).
    While the Page Inbox owns the thread it comes on ``standby``, without its payload (§2.11)."""
    sandbox, psid, shopper = await shopper_of(request)
    body = await read_json(request)
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    payload, title = body.get("payload"), body.get("title")
    if payload is None:
        get_started = (await sandbox.state.profile()).get("get_started")
        if not get_started:
            raise Conflict("no payload given and the Messenger profile has no get_started")
        payload, title = get_started["payload"], title or "Get Started"
    postback: dict[str, Any] = {"mid": ids.new_mid(), "title": str(title or payload), "payload": str(payload)}
    if body.get("referral") is not None:
        postback["referral"] = body["referral"]
    await sandbox.state.touch(psid, timestamp)
    await said(sandbox, psid, "postback", postback["title"], timestamp, mid=postback["mid"])
    standby = await owned_by_other_app(sandbox, psid)
    heard = {k: v for k, v in postback.items() if k != "payload"} if standby else postback  # §2.11: no payload
    item = from_shopper(sandbox.page_id, psid, timestamp, postback=heard)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, [item], standby=standby))
    return web.json_response({"mid": postback["mid"], "timestamp": timestamp, **delivery.as_json()})


async def tap_optin(request: web.Request) -> web.Response:
    """Tap the latest opt-in card titled ``title``: a token is issued; the window stays as it was."""
    sandbox, psid, shopper = await shopper_of(request)
    body = await read_json(request)
    title = required_text(body, "title")
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    card = await sandbox.state.optin_request(psid, title)
    if card is None:
        raise Conflict(f"the shopper received no opt-in request titled {title!r}")
    if card["kind"] == "one_time_notif_req":
        if card["tapped"]:
            raise Conflict(f"the one-time notification request {title!r} was already tapped")
        token = await sandbox.state.issue_otn_token(psid, title, card["payload"], timestamp)
        await sandbox.state.mark_tapped(psid, title, card["at_ms"])
        optin = {"type": "one_time_notif_req", "payload": card["payload"], "one_time_notif_token": token}
    else:
        token = await sandbox.state.issue_nm_token(psid, title, card["payload"], timestamp)
        timezone = card.get("timezone") or shopper["timezone"]
        optin = nm_optin(token, title, card["payload"], timezone)
    await said(sandbox, psid, "optin", title, timestamp, optin_kind=card["kind"])
    item = from_shopper(sandbox.page_id, psid, timestamp, optin=optin)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, [item]))
    return web.json_response({"kind": card["kind"], "title": title, "timestamp": timestamp, **delivery.as_json()})


async def set_notifications(request: web.Request) -> web.Response:
    """``{title, action: stop|resume}``: the topic's token stops or resumes (same token)."""
    sandbox, psid, shopper = await shopper_of(request)
    body = await read_json(request)
    title = required_text(body, "title")
    action = body.get("action")
    if action not in ("stop", "resume"):
        raise BadRequest("action must be stop or resume")
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    token = await sandbox.state.nm_token_of(psid, title)
    if token is None:
        raise Conflict(f"the shopper holds no marketing-message token titled {title!r}")
    record = await sandbox.state.nm_token(token)
    await sandbox.state.set_stopped(token, action == "stop")
    status = "STOP_NOTIFICATIONS" if action == "stop" else "RESUME_NOTIFICATIONS"
    await said(sandbox, psid, "notifications", title, timestamp, action=action)
    optin = nm_optin(token, title, record.get("payload", ""), shopper["timezone"], status)
    item = from_shopper(sandbox.page_id, psid, timestamp, optin=optin)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, [item]))
    return web.json_response({"title": title, "status": status, "timestamp": timestamp, **delivery.as_json()})


async def inbox(request: web.Request) -> web.Response:
    sandbox, psid, _ = await shopper_of(request)
    return web.json_response({"psid": psid, "messages": await sandbox.state.inbox(psid)})


async def block(request: web.Request) -> web.Response:
    """``{blocked: true|false}``: the shopper becomes unavailable (sends answer 551/1545041)."""
    sandbox, psid, _ = await shopper_of(request)
    blocked = (await read_json(request)).get("blocked", True)
    if not isinstance(blocked, bool):
        raise BadRequest("blocked must be true or false")
    await sandbox.state.set_blocked(psid, blocked)
    return web.json_response({"psid": psid, "blocked": blocked})


async def page_message(request: web.Request) -> web.Response:
    """A human of the Page answers from the Page Inbox: inbox entry plus an echo webhook."""
    sandbox, psid, shopper = await shopper_of(request)
    body = await read_json(request)
    text = required_text(body, "text")
    now = await sandbox.clock.now_ms()
    timestamp = event_time(body, now)
    mid = ids.new_mid()
    await sandbox.state.deliver(psid, {"message_id": mid, "message": {"text": text}, "messaging_type": None,
                                       "tag": None, "via": "page_inbox", "timestamp": timestamp})
    item = echo(sandbox.page_id, psid, timestamp, mid, text, PAGE_INBOX_APP_ID)
    standby = await owned_by_other_app(sandbox, psid)
    delivery = await post_for(sandbox, shopper, messaging_body(sandbox.page_id, now, [item], standby=standby))
    return web.json_response({"mid": mid, "timestamp": timestamp, **delivery.as_json()})
