"""What a send to an Instagram shopper may be, decided before any call (issue 15, messenger-platform.md §9).

:func:`for_channel` narrows the plan :func:`bot.policy.decide` made for a job to what Instagram
allows; a Messenger job's plan is left as it is. On Instagram:

- a message inside the 24-hour window goes as one, through the Instagram messaging endpoint
  (route ``instagram``; the window, the per-title opt-in rule and every other rule of
  :func:`~bot.policy.decide` apply first, keyed by the ``ig:`` shopper);
- a private reply to a comment on a post, reel or live video goes once per comment within 7 days
  (route ``instagram_comment``, the one-per-comment and 7-day rules of ``decide``); on a live video
  Meta allows it only while the broadcast runs (§9): not checked yet (the Instagram live video's
  status is not known to the bot), so such a reply is tried and Meta's refusal recorded;
- nothing else: no Marketing Message API, legacy marketing token or OTN route (Meta documents them for
  Messenger subscribers; marketing messages to Instagram subscribers are not wired here), no message
  tag (Meta's tag list is Messenger's; whether ``HUMAN_AGENT`` is allowed on Instagram could not be
  confirmed [U]), no utility message and no thread control (the handover protocol on Instagram is
  not modelled). A plan left with no route is refused ``not_on_instagram``.
"""

from __future__ import annotations

from .channels import INSTAGRAM
from .outbox import SendJob
from .policy import Plan, Reason, Route

# A Messenger route -> the Instagram route it becomes; a route absent here does not exist on Instagram.
INSTAGRAM_ROUTES = {"psid": "instagram", "comment": "instagram_comment"}


def for_channel(job: SendJob, plan: Plan) -> Plan:
    """The plan narrowed to what the job's channel allows (a Messenger job's plan unchanged)."""
    if job.channel != INSTAGRAM or plan.skip is not None:
        return plan
    routes = tuple(Route(INSTAGRAM_ROUTES[r.via], r.messaging_type)  # type: ignore[arg-type]
                   for r in plan.routes if r.via in INSTAGRAM_ROUTES and r.tag is None)
    if not routes:
        return Plan.refuse(Reason.NOT_ON_INSTAGRAM)
    return Plan(routes, per_day=plan.per_day)
