"""Asking Meta where a shopper is, once, where a region rule needs to know before a send.

Only the One-Time Notification rule needs a region we may not have (an OTN request goes to
shoppers who never opted in to marketing messages, so no opt-in time zone is known): before an
``otn_request``, or a notification that could go by OTN, to a shopper whose region is unknown and
was never looked up, the send worker asks the User Profile API for the ``locale``
(messenger-platform.md §4.7) and records the answer (:class:`bot.shopper_regions.ShopperRegions`).
A refusal of that read (the field not granted, the shopper gone) is recorded as looked up, so it is
not asked again; a network failure is not, and the send goes on with what is known.
"""

from __future__ import annotations

import dataclasses
import logging

from .graph import GraphClient, GraphError, GraphNetworkError, GraphThrottled, GraphTransient
from .policy import Facts
from .send_jobs import SendJob
from .shopper_regions import ShopperRegions

log = logging.getLogger(__name__)

PROFILE_FIELDS = ("locale",)


def needs_region(job: SendJob, facts: Facts) -> bool:
    """True when an OTN rule applies to this job and nothing tells where its shopper is."""
    region = facts.region
    if not job.psid or region.known or region.looked_up or "otn" in region.refused:
        return False
    if job.purpose == "otn_request":
        return True
    consent = facts.consent
    return (job.purpose == "notification" and consent is not None and consent.otn_tokens > 0
            and consent.subscription is None and not facts.in_window)


class RegionLookup:
    """Fills in a job's region from the User Profile API when :func:`needs_region`."""

    def __init__(self, regions: ShopperRegions, graph: GraphClient) -> None:
        self._regions = regions
        self._graph = graph

    async def complete(self, job: SendJob, facts: Facts) -> Facts:
        if not needs_region(job, facts):
            return facts
        psid = job.psid or ""
        try:
            profile = await self._graph.get_user_profile(psid, PROFILE_FIELDS)
        except (GraphNetworkError, GraphTransient, GraphThrottled) as exc:
            log.info("send job %s: the shopper's locale could not be read now (%s)", job.id, exc.reason)
            return facts
        except GraphError as exc:
            log.info("send job %s: Meta gives no locale for the shopper (%s)", job.id, exc.reason)
            profile = {}
        return dataclasses.replace(facts, region=await self._regions.record_profile(psid, profile))
