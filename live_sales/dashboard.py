"""The live-sale panels of the dashboard (``/dashboard/``), registered through :class:`bot.dashboard.Panels`.

Five panels, each an ES module under ``live_sales/static/`` that drives the admin API:
live sales (list, create, schedule, link posts, start, end, cancel, live progress), claims
(a sale's products with stock left, a CSV import, its claims live with Paid / Cancel, the claim numbers),
numbers (the 7-day chart, per-sale numbers, who never opted in), subscribers (search,
status, topic, CSV) and blasts (compose, preview against the policy, send). The sales
list is also rendered here on the server, so it reads without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.dashboard import Panel, Panels
from bot.pages import page_runtime

from .service import domain_of

panels = Panels()


def _when(ms: int, zone: ZoneInfo) -> str:
    if not ms:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=zone).strftime("%a %d %b %Y, %H:%M")


async def sales_list(request: web.Request) -> str:
    """Every sale with its status and numbers as a plain table (the module replaces it with the live view)."""
    domain = domain_of(page_runtime(request))
    settings = page_runtime(request).settings
    zone, zone_name = settings.shop_zone, settings.shop_timezone
    rows = []
    for sale in await domain.sales.find(limit=50):
        view = await domain.sale_view(sale)
        numbers, fanout = view["numbers"], view["fanout"]
        rows.append(
            "<tr>"
            f"<td>{escape(sale.id)}</td><td>{escape(sale.title)}</td>"
            f"<td><span class=\"badge {escape(sale.status)}\">{escape(sale.status)}</span></td>"
            f"<td>{escape(_when(sale.scheduled_ms, zone))}</td>"
            f"<td class=\"num\">{numbers['sent']} / {fanout['eligible']}</td>"
            f"<td class=\"num\">{numbers['skipped_total']}</td><td class=\"num\">{numbers['failed_total']}</td>"
            "</tr>")
    if not rows:
        return ("<p class=\"nojs\">No live sale yet. Create one here (with JavaScript), with "
                "<code>salebell live create</code>, or with <code>POST /api/live-sales</code>.</p>")
    return ("<div class=\"table-wrap nojs\"><table><thead><tr><th>Sale</th><th>Title</th><th>Status</th>"
            f"<th>Planned ({escape(zone_name)})</th><th class=\"num\">Sent / eligible</th>"
            "<th class=\"num\">Skipped</th><th class=\"num\">Failed</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


panels.add(Panel("sales", "Live sales", __package__, module="sales.js", render=sales_list, order=10))
panels.add(Panel("claims", "Claims", __package__, module="claims.js", order=15))
panels.add(Panel("numbers", "Numbers", __package__, module="numbers.js", order=20))
panels.add(Panel("subscribers", "Subscribers", __package__, module="subscribers.js", order=30))
panels.add(Panel("blasts", "Blasts", __package__, module="blasts.js", order=40))
