"""The live-sale domain, a plugin of the bot (``SALEBELL_PLUGINS``): sales, blasts, order updates, numbers.

A host starts a live sale from the CLI, the admin API or by going live on the
Page; every subscriber of its topic gets one notification with a "Watch now"
button, through the outbox and its policy. The plugin surface:

- ``registry``: the ``live_videos`` webhook handler (going live starts the sale) and the claim
  comments' handler (:mod:`live_sales.claim_comments`: "SOLD 12" under the live video);
- ``api``: the admin routes (``/api/live-sales``, ``/api/broadcasts``,
  ``/api/order-updates``, ``/api/stats``; :mod:`live_sales.audience_api` adds the blast
  preview, the never-opted-in list, shoppers' names and linking posts to a sale;
  :mod:`live_sales.claims_api` a sale's products and claims);
- ``setup(runtime)``: puts a :class:`LiveSales` in the runtime's context, provides the
  services :data:`bot.ports.NEXT_LIVE_SALE` and :data:`bot.ports.LINKED_POSTS`
  (:mod:`live_sales.sale_facts`) and :data:`bot.ports.CLAIM_COMMENTS`, runs the claims' settler
  (:mod:`live_sales.claims`) and the fan-out runner (resumes any campaign's
  fan-out, also one a dead process left);
- ``panels``: its dashboard panels (:mod:`live_sales.dashboard`);
- the CLI commands ``live``, ``broadcast``, ``stats``, ``products`` and ``claims`` (registered on import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.plugins import Plugin
from bot.ports import CLAIM_COMMENTS, LINKED_POSTS, NEXT_LIVE_SALE

from . import claims_cli as _claims_cli  # noqa: F401 - registers `products` and `claims`
from . import cli as _cli  # noqa: F401 - registers the CLI commands
from .api import api
from .audience_api import api as _audience_api
from .claim_events import registry as _claims_registry
from .claims_api import api as _claims_api
from .dashboard import panels
from .live_videos import registry
from .model import Broadcast, LiveSale
from .sale_facts import SaleFacts
from .service import CONTEXT_NAME, LiveSales, domain_of
from .utility_api import api as _utility_api

if TYPE_CHECKING:
    from bot.runtime import Runtime

api.include(_audience_api)
api.include(_claims_api)
registry.include(_claims_registry)
api.include(_utility_api)

__all__ = ["Broadcast", "LiveSale", "LiveSales", "api", "domain_of", "panels", "plugin", "registry", "setup"]

NAME = "live_sales"


async def setup(runtime: Runtime) -> None:
    """Once per runtime: the domain object in the context, its fan-out runner as a background task."""
    if runtime.context.get(CONTEXT_NAME + ".setup"):
        return
    runtime.context[CONTEXT_NAME + ".setup"] = True
    domain = domain_of(runtime)
    facts = SaleFacts(domain.sales, runtime.clock)
    runtime.services.provide(NEXT_LIVE_SALE, facts, by=NAME)
    runtime.services.provide(LINKED_POSTS, facts, by=NAME)
    runtime.services.provide(CLAIM_COMMENTS, domain.claim_comments, by=NAME)
    runtime.add_background(domain.runner.loop)
    runtime.add_background(domain.reminders.loop)
    runtime.add_background(domain.claims.run)


plugin = Plugin(name=NAME, registry=registry, api=api, panels=panels, setup=setup,
                provides=(NEXT_LIVE_SALE, LINKED_POSTS, CLAIM_COMMENTS))
