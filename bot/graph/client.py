"""``GraphClient``: the Graph API calls the bot makes (Send, Marketing Message, thread control, reads).

Each endpoint is one call of :class:`bot.graph.transport.GraphTransport` (auth, retries, errors).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from ..secret import Secret
from ..settings import Settings
from . import request_bodies
from .errors import GraphError
from .retry import Sleep
from .transport import GraphTransport, new_session
from .usage import Usage
from .utility import TemplateState, template_of

_TOKEN_RECIPIENTS = ("notification_messages_token", "one_time_notif_token")


@dataclass(frozen=True)
class SendResult:
    message_id: str | None
    recipient_id: str | None
    raw: Mapping[str, Any] = field(repr=False)
    usage: Usage = field(default_factory=Usage, repr=False)  # this answer's usage headers (§6.2)


@dataclass(frozen=True)
class ThreadMessage:
    """One message of a conversation as the Conversations API shows it."""

    id: str
    created_ms: int
    from_id: str
    text: str


@dataclass(frozen=True)
class MarketingSendResult:
    tracking_id: str | None
    success: bool
    raw: Mapping[str, Any] = field(repr=False)
    usage: Usage = field(default_factory=Usage, repr=False)


class GraphClient(GraphTransport):
    """Graph API calls the bot makes. Share one instance per process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        page_token: Secret,
        ad_account_id: str = "",
        marketing_token: Secret | None = None,
        max_attempts: int = 4,
        max_throttle_wait: float = 60.0,
        wait_scale: float = 1.0,
        sleep: Sleep = asyncio.sleep,
        owns_session: bool = False,
    ) -> None:
        super().__init__(session, base_url=base_url, page_token=page_token, max_attempts=max_attempts,
                         max_throttle_wait=max_throttle_wait, wait_scale=wait_scale, sleep=sleep,
                         owns_session=owns_session)
        self._marketing_token = marketing_token or page_token
        self._ad_account = quote(ad_account_id.removeprefix("act_"), safe="")

    @classmethod
    def from_settings(cls, session: aiohttp.ClientSession, settings: Settings, **kw: Any) -> GraphClient:
        return cls(
            session,
            base_url=settings.graph_base,
            page_token=settings.page_access_token,
            ad_account_id=settings.ad_account_id,
            **kw,
        )

    @classmethod
    async def create(cls, settings: Settings, *, limit: int = 256, **kw: Any) -> GraphClient:
        """A client with its own session (closed by :meth:`close`)."""
        return cls.from_settings(new_session(limit=limit), settings, owns_session=True, **kw)

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- Send API ------------------------------------------------------------------------

    async def send(self, body: Mapping[str, Any], *, reschedule_throttles: bool = False) -> SendResult:
        """``POST /me/messages`` with a body from ``request_bodies.send_body``.

        ``reschedule_throttles``: a throttle answer is raised at once, for a caller that pauses and
        retries later (the send worker) rather than wait inside the call.
        """
        recipient = body.get("recipient") or {}
        token_recipient = any(k in recipient for k in _TOKEN_RECIPIENTS)
        raw, usage = await self._request("POST", "me/messages", body=body, token_recipient=token_recipient,
                                         throttles=not reschedule_throttles)
        return SendResult(message_id=_str(raw.get("message_id")), recipient_id=_str(raw.get("recipient_id")), raw=raw,
                          usage=usage)

    async def send_instagram(self, account_id: str, body: Mapping[str, Any], *, reschedule_throttles: bool = False
                             ) -> SendResult:
        """``POST /{ig-account-id}/messages`` with the Page token (issue 15, messenger-platform.md §9): a
        message to an Instagram shopper (``recipient.id`` = their IGSID) or a private reply to an Instagram
        comment (``recipient.comment_id``), a body from ``request_bodies.send_body``. Meta documents both
        ``/{ig-id}/messages`` and ``/me/messages`` with the Page token for Instagram Messaging through
        Facebook Login; which one the current version prefers was not confirmed [U]. Answers
        ``{recipient_id, message_id}`` as the Send API does [U]."""
        raw, usage = await self._request("POST", f"{quote(account_id, safe='')}/messages", body=body,
                                         token_recipient=False, throttles=not reschedule_throttles)
        return SendResult(message_id=_str(raw.get("message_id")), recipient_id=_str(raw.get("recipient_id")), raw=raw,
                          usage=usage)

    async def send_marketing(self, body: Mapping[str, Any], *, reschedule_throttles: bool = False
                             ) -> MarketingSendResult:
        """``POST /act_{ad_account}/messages`` (Marketing Message API) with ``request_bodies.marketing_api_body``."""
        raw, usage = await self._request("POST", f"act_{self._ad_account}/messages", body=body, token_recipient=True,
                                         token=self._marketing_token, throttles=not reschedule_throttles)
        return MarketingSendResult(
            tracking_id=_str(raw.get("marketing_message_tracking_id")), success=bool(raw.get("success", True)), raw=raw,
            usage=usage,
        )

    async def thread_control(self, edge: str, body: Mapping[str, Any], *, reschedule_throttles: bool = False
                             ) -> Usage:
        """``POST /me/pass_thread_control`` (or ``take_``/``request_thread_control``, §2.11) with a body from
        ``request_bodies.thread_control_body``; returns the answer's usage."""
        _, usage = await self._request("POST", edge, body=body, token_recipient=False,
                                       throttles=not reschedule_throttles)
        return usage

    async def sender_action(self, psid: str, action: str) -> None:
        """typing_on / typing_off / mark_seen; harmless to repeat, so retried like a read."""
        await self._call("POST", "me/messages", body=request_bodies.sender_action_body(psid, action), idempotent=True)

    async def private_reply(self, comment_id: str, message: Mapping[str, Any]) -> SendResult:
        return await self.send(request_bodies.send_body(request_bodies.to_comment(comment_id), message))

    # --- Messenger Profile and reads -----------------------------------------------------

    async def get_messenger_profile(self, fields: Sequence[str]) -> dict[str, Any]:
        raw = await self._call("GET", "me/messenger_profile", params={"fields": ",".join(fields)}, idempotent=True)
        data = raw.get("data")
        return dict(data[0]) if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}

    async def set_messenger_profile(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "me/messenger_profile", body=profile, idempotent=True)

    async def delete_messenger_profile(self, fields: Sequence[str]) -> dict[str, Any]:
        return await self._call("DELETE", "me/messenger_profile", body={"fields": list(fields)}, idempotent=True)

    async def thread_messages(self, page_id: str, psid: str, limit: int = 20) -> list[ThreadMessage]:
        """The newest messages of the shopper's thread, newest first (the Conversations API).

        ``GET /{page-id}/conversations?platform=messenger&user_id=<psid>&fields=messages.limit(n)
        {id,created_time,from,message}``; Meta details only the 20 most recent messages of a thread.
        Used to learn whether a send whose answer was lost reached the shopper (bot/reclaim.py).
        """
        raw = await self._call("GET", f"{quote(page_id, safe='')}/conversations", params={
            "platform": "messenger", "user_id": psid,
            "fields": f"messages.limit({limit}){{id,created_time,from,message}}"}, idempotent=True)
        found: list[ThreadMessage] = []
        for thread in raw.get("data") or []:
            messages = thread.get("messages") if isinstance(thread, Mapping) else None
            for m in (messages.get("data") or []) if isinstance(messages, Mapping) else []:
                if isinstance(m, Mapping) and isinstance(m.get("id"), str):
                    sender = m.get("from")
                    sender = sender if isinstance(sender, Mapping) else {}
                    found.append(ThreadMessage(str(m["id"]), _epoch_ms(m.get("created_time")),
                                               str(sender.get("id") or ""), str(m.get("message") or "")))
        return found

    async def subscribe_app(self, page_id: str, fields: Sequence[str]) -> None:
        """Install the app on the Page with these webhook fields (``POST /{page-id}/subscribed_apps``, §1.1)."""
        await self._call("POST", f"{quote(page_id, safe='')}/subscribed_apps",
                         params={"subscribed_fields": ",".join(fields)}, idempotent=True)

    async def subscribed_fields(self, page_id: str) -> list[str]:
        """The webhook fields our app is subscribed to on the Page (``GET /{page-id}/subscribed_apps``)."""
        raw = await self._call("GET", f"{quote(page_id, safe='')}/subscribed_apps", idempotent=True)
        fields: list[str] = []
        for app in raw.get("data") or []:
            if isinstance(app, Mapping) and isinstance(app.get("subscribed_fields"), list):
                fields += [str(f) for f in app["subscribed_fields"]]
        return fields

    async def list_message_templates(self, page_id: str) -> list[TemplateState]:
        """The Page's utility message templates (``GET /{page-id}/message_templates``, §3.3, §9; answer shape [U])."""
        raw = await self._call("GET", f"{quote(page_id, safe='')}/message_templates",
                               params={"fields": "id,name,language,status,category"}, idempotent=True)
        found = [template_of(t) for t in raw.get("data") or []]
        return [t for t in found if t is not None]

    async def create_message_template(self, page_id: str, body: Mapping[str, Any]) -> TemplateState:
        """Create a template (``POST /{page-id}/message_templates``, body from ``graph.utility``; [U])."""
        raw = await self._call("POST", f"{quote(page_id, safe='')}/message_templates", body=body)
        made = template_of(raw, name=str(body.get("name") or ""), language=str(body.get("language") or ""))
        if made is None:
            raise GraphError("the template creation answer has no id and status")
        return made

    async def get_live_video(self, video_id: str, fields: Sequence[str]) -> dict[str, Any]:
        return await self._call("GET", quote(video_id, safe=""), params={"fields": ",".join(fields)}, idempotent=True)

    async def instagram_live_media(self, account_id: str) -> list[str]:
        """The ids of the Instagram account's live videos being broadcast now (``GET /{ig-user-id}/live_media``:
        "only live video IG Media being broadcast at the time of the request" [C]; with the Page token [U])."""
        raw = await self._call("GET", f"{quote(account_id, safe='')}/live_media", params={"fields": "id"},
                               idempotent=True)
        data = raw.get("data")
        return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")] if isinstance(data, list) else []

    async def get_user_profile(self, psid: str, fields: Sequence[str]) -> dict[str, Any]:
        """The User Profile API: ``GET /{psid}?fields=name,...`` with the Page token."""
        return await self._call("GET", quote(psid, safe=""), params={"fields": ",".join(fields)}, idempotent=True)


def _epoch_ms(value: object) -> int:
    """Graph's ``created_time`` ("2026-12-01T10:29:59+0000") as epoch ms; 0 when unreadable."""
    if not isinstance(value, str):
        return 0
    try:
        return int(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000)
    except ValueError:
        return 0


def _str(value: object) -> str | None:
    return None if value is None else str(value)
