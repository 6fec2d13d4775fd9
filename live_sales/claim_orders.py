"""A paid claim's order confirmation: the POS-style "Your order … is confirmed" of the order-updates path.

The host marks a claim paid with ``confirm`` (``PATCH /api/live-sales/{id}/claims/{claim id}``); the
shopper then gets one order update (:mod:`live_sales.orders`: status ``confirmed``, the item with
its variant and quantity, the total when the product has a price and a currency). It is purpose
``transactional``, so the policy sends it inside the 24-hour window, or outside it as a utility
message or with the POST_PURCHASE_UPDATE tag where those are on — never as free text. Being a
confirmed order, it may be followed by the opt-in card, within that card's own limits.

The order id is ``claim-<comment id>`` (the characters an order id may not hold made ``-``), so the
job id derives from the claim and a retried confirmation queues nothing twice. The claim's ``psid`` is
the comment's ``from.id``, which Meta does not promise is a PSID (messenger-platform.md §2.9); in the
sandbox it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .orders import OrderItem, OrderUpdate
from .products import Product

NOT_IN_ORDER_ID = re.compile(r"[^A-Za-z0-9.:-]")


def order_id_of(claim_id: str) -> str:
    return NOT_IN_ORDER_ID.sub("-", f"claim-{claim_id}")[:64]


def paid_order(claim: Mapping[str, str], product: Product | None) -> OrderUpdate:
    """The confirmation of a paid claim of ``product`` (None: the product is gone; the claim's title is used)."""
    quantity = int(claim.get("quantity") or 1)
    title = (product.title if product else claim.get("title") or claim.get("code", ""))[:60]
    variant = f" ({claim['variant']})" if claim.get("variant") else ""
    total = None
    if product is not None and product.price is not None and product.currency:
        total = (product.price * quantity, product.currency)
    return OrderUpdate(psid=claim["psid"], order_id=order_id_of(claim["id"]), status="confirmed",
                       items=(OrderItem(f"{title} [{claim.get('code', '')}]{variant}", quantity),), total=total,
                       confirmed=True)
