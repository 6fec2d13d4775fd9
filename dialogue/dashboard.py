"""The Conversations panel of the dashboard: what shoppers wrote while a person had the conversation.

Rendered on the server (it reads without JavaScript): the latest conversations with kept messages
or waiting for a person, each with its messages in order (who wrote them), its takeover state and
how a reply would go now (:meth:`dialogue.agent_desk.AgentDesk.view`). The module
``static/conversations.js`` adds a reply box per conversation (``POST
/api/conversations/{psid}/replies``, refused with the policy's reason) and a "Done" button
(``POST /api/conversations/{psid}/done``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any

from aiohttp import web

from bot.dashboard import Panel, Panels
from bot.pages import page_runtime

from .agent_desk import AgentDesk

panels = Panels()
SHOWN = 20  # conversations on the panel
NOTHING_KEPT = '<li class="muted">Nothing kept yet.</li>'
AUTHORS = {"shopper": "Shopper", "agent": "You (agent)", "page_inbox": "Page inbox", "bot": "Bot"}


def _when(ms: int | None) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%d %b %H:%M UTC")


def _state(view: dict[str, Any]) -> str:
    takeover, reply = view["takeover"], view["reply"]
    parts = ["bot paused until " + _when(takeover["paused_until_ms"]) if takeover["paused"] else "bot answering",
             "thread with the Page Inbox" if takeover["thread_owner"] == "page_inbox" else "thread with the bot"]
    if takeover["needs_human_since_ms"]:
        parts.append("waiting for a person since " + _when(takeover["needs_human_since_ms"]))
    parts.append(f"a reply goes as {reply['route']}" if reply["allowed"] else f"no reply possible ({reply['reason']})")
    return " · ".join(parts)


def _conversation(view: dict[str, Any]) -> str:
    psid = escape(view["psid"])
    lines = "".join(
        f"<li class=\"msg {escape(m['from'])}\"><span class=\"who\">{escape(AUTHORS.get(m['from'], m['from']))}"
        f"</span> <time>{escape(_when(m['at_ms']))}</time>{' <em>(standby)</em>' if m.get('standby') else ''}"
        f"<p>{escape(m['text'])}</p></li>" for m in view["messages"])
    return (f"<article class=\"card conversation\" data-psid=\"{psid}\" data-reply-allowed="
            f"\"{'1' if view['reply']['allowed'] else '0'}\"><h3>{psid}</h3>"
            f"<p class=\"muted state\">{escape(_state(view))}</p>"
            f"<ol class=\"messages\">{lines or NOTHING_KEPT}</ol></article>")


async def conversations(request: web.Request) -> str:
    desk = AgentDesk(page_runtime(request))
    psids = [psid for psid, _ in await desk.listed(SHOWN)]
    if not psids:
        return ("<p class=\"muted\">No conversation waits for a person. When a shopper asks for one, the bot has "
                "no answer, or a person replies, the conversation shows here.</p>")
    return "".join([_conversation(await desk.view(psid)) for psid in psids])


panels.add(Panel("conversations", "Conversations", __package__, module="conversations.js", render=conversations,
                 order=35))
