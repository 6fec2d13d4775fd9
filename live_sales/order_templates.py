"""The utility message templates of order updates: one per status, and the parameters of one update.

Outside the 24-hour window an order update goes as a utility message (messenger-platform.md §3.3,
§9) when ``UTILITY_MESSAGES_ENABLED``: from the Page's approved template for its status
(``salebell_order_<status>``), the structured fields filling its named parameters (order id,
status, items, total, tracking link) — never free text. A field the update leaves out is filled
with ``-`` (Meta refuses an empty parameter [U]). ``salebell utility-templates sync`` (or
``POST /api/utility-templates/sync``) makes sure the Page has these templates
(:func:`bot.utility_templates.sync_templates`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.graph.utility import render
from bot.utility_templates import LANGUAGE, TemplateSpec

if TYPE_CHECKING:
    from .orders import OrderUpdate

PREFIX = "salebell_order_"
NONE = "-"
EXAMPLES = {"order_id": "A-1001", "status": "Shipped", "items": "2 x Red dress (M)", "total": "PHP 1,200.00",
            "tracking_url": "https://track.example/A-1001"}


def template_name(status: str) -> str:
    return PREFIX + status


def template_spec(status: str, phrase: str) -> TemplateSpec:
    """The template of one status: its phrase is fixed text, so an update cannot say anything else."""
    body = (f"Your order {{{{order_id}}}} {phrase}.\nStatus: {{{{status}}}}\nItems: {{{{items}}}}\n"
            "Total: {{total}}\nTracking: {{tracking_url}}")
    return TemplateSpec(template_name(status), body, dict(EXAMPLES))


def order_template_specs() -> list[TemplateSpec]:
    """Every status's template, in the order of ``orders.STATUSES``."""
    from .orders import STATUSES  # noqa: PLC0415 - orders imports this module

    return [template_spec(status, phrase) for status, phrase in STATUSES.items()]


def utility_of(update: OrderUpdate) -> dict[str, Any] | None:
    """The job's ``utility`` part (template, language, parameters), or None for an update without a status."""
    if update.status is None or update.note:
        return None
    items = ", ".join(f"{item.quantity} x {item.title.strip()}" for item in update.items)
    total = f"{update.total[1]} {update.total[0]:,.2f}" if update.total is not None else ""
    params = {"order_id": update.order_id, "status": update.status.replace("_", " ").capitalize(),
              "items": items or NONE, "total": total or NONE, "tracking_url": update.tracking_url or NONE}
    # the text as rendered from our own template: how a reclaimed send whose answer was lost is found in
    # the shopper's thread (bot.reclaim), since the Send API body names the template, not the text
    from .orders import STATUSES  # noqa: PLC0415 - orders imports this module

    text = render(template_spec(update.status, STATUSES[update.status]).body, params)
    return {"template": template_name(update.status), "language": LANGUAGE, "params": params, "text": text}
