"""The Conversations API: ``GET /{page-id}/conversations?platform=messenger&user_id=<psid>&fields=...``.

Modelled on Meta's (messenger-platform.md; Meta's "Conversations API for Messenger Platform"):
one conversation per shopper, its messages newest first, of which only the 20 most recent are
detailed. A message's ``message`` is its text; for a template the sandbox gives the template's
text or title (``bot.graph.payloads.summary``) — how Meta renders a template there is not
documented [U]. Asking for ``messages.limit(N){...}`` returns at most ``N`` (and never more than 20).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ..graph.payloads import summary
from .context import SANDBOX
from .errors import INVALID_TOKEN, UNKNOWN_OBJECT, new_fbtrace_id
from .graph_api import authorized, done, refuse
from .graph_objects import iso_time

MOST_RECENT = 20
_LIMIT = re.compile(r"messages\.limit\((\d+)\)")


async def page_conversations(request: web.Request) -> web.Response:
    sandbox = request.app[SANDBOX]
    if not authorized(request, sandbox):
        return await refuse(sandbox, request, "read", INVALID_TOKEN, new_fbtrace_id())
    if request.match_info["node"] not in ("me", sandbox.page_id):
        return await refuse(sandbox, request, "read", UNKNOWN_OBJECT, new_fbtrace_id())
    psid = request.query.get("user_id", "")
    if not psid or await sandbox.state.shopper(psid) is None:
        return await done(sandbox, request, "read", {"data": []})
    wanted = _LIMIT.search(request.query.get("fields", ""))
    limit = min(MOST_RECENT, int(wanted.group(1)) if wanted else MOST_RECENT)
    messages: list[dict[str, Any]] = []
    for entry in reversed(await sandbox.state.thread(psid)):
        page = entry.get("from") == "page"
        messages.append({
            "id": str(entry.get("message_id") or entry.get("mid") or ""),
            "created_time": iso_time(int(entry.get("timestamp") or 0)),
            "from": {"id": sandbox.page_id if page else psid},
            "message": summary(entry.get("message")) if page else str(entry.get("text") or ""),
        })
        if len(messages) == limit:
            break
    return await done(sandbox, request, "read", {"data": [{"id": f"t_{psid}", "messages": {"data": messages}}]})
