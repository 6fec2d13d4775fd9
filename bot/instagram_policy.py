"""What a send to an Instagram shopper may be, decided before any call (issue 15, messenger-platform.md §9).

:func:`for_channel` narrows the plan :func:`bot.policy.decide` made for a job to what Instagram
allows; a Messenger job's plan is left as it is. On Instagram:

- a message inside the 24-hour window goes as one, through the Instagram messaging endpoint
  (route ``instagram``; the window, the per-title opt-in rule and every other rule of
  :func:`~bot.policy.decide` apply first, keyed by the ``ig:`` shopper);
- an opt-in request (the marketing-message card): besides Messenger's rules (the window, no title
  asked again within 7 days: stricter than Instagram's duplicate, which is the same title *and*
  ``image_url``), Instagram's own limits (§4.2, §9 [C]): at most 10 requests with different titles per
  person per 7 days and at most 5 a day (read here as the last 24 hours [U]); the next one is refused
  ``frequency``. The requests counted are the titles asked of the shopper (``Keys.optin_asked``) and the
  opt-in requests before this one in the same send batch (counted as asked now, whatever becomes of
  them: a limit is never passed by two jobs read together);
- a private reply to a comment on a post, reel or live video goes once per comment within 7 days
  (route ``instagram_comment``, the one-per-comment and 7-day rules of ``decide``); on a live video
  Meta allows it only while the broadcast runs (§9 [C]): a reply whose live video is known to be no
  longer broadcast (``Facts.live_ended``, asked of Meta just before by :mod:`bot.instagram_live`) is
  refused ``live_ended`` before any send. The reply is
  a text only: Meta's Instagram private-replies pages (Jun–Jul 2026) describe the ``message`` as "the
  text you wish to send" and show nothing else [C]; that quick replies or templates are refused there
  is [U] (Messenger's private replies take them, §3.8). A private reply with anything more is refused
  ``not_on_instagram``, so the one reply a comment allows is never spent on a call Meta may refuse. A
  private reply does not open the 24-hour window (§3.8, §4.1; Meta's Instagram page says the same
  [C]): the shopper's answer in the DM does, and only then may the opt-in card go;
- nothing else: no Marketing Message API, legacy marketing token or OTN route (Meta documents them for
  Messenger subscribers; marketing messages to Instagram subscribers are not wired here), no message
  tag (Meta's tag list is Messenger's; whether ``HUMAN_AGENT`` is allowed on Instagram could not be
  confirmed [U]), no utility message and no thread control (the handover protocol on Instagram is
  not modelled). A plan left with no route is refused ``not_on_instagram``.
"""

from __future__ import annotations

from .channels import INSTAGRAM
from .policy import HOUR_MS, WEEK_MS, Facts, Plan, Reason, Route
from .send_jobs import SendJob

# A Messenger route -> the Instagram route it becomes; a route absent here does not exist on Instagram.
INSTAGRAM_ROUTES = {"psid": "instagram", "comment": "instagram_comment"}
PRIVATE_REPLY_FIELDS = frozenset({"text", "metadata"})  # metadata: ours, for echoes; not content
OPTIN_TITLES_PER_WEEK = 10
OPTINS_PER_DAY = 5
DAY_MS = 24 * HOUR_MS


def for_channel(job: SendJob, plan: Plan, facts: Facts) -> Plan:
    """The plan narrowed to what the job's channel allows (a Messenger job's plan unchanged)."""
    if job.channel != INSTAGRAM or plan.skip is not None:
        return plan
    if job.purpose == "optin_request" and optin_limited(facts):
        return Plan.refuse(Reason.FREQUENCY)
    if job.purpose == "private_reply" and facts.live_ended:
        return Plan.refuse(Reason.LIVE_ENDED)
    text_only = isinstance(job.message.get("text"), str) and set(job.message) <= PRIVATE_REPLY_FIELDS
    routes = tuple(Route(INSTAGRAM_ROUTES[r.via], r.messaging_type)  # type: ignore[arg-type]
                   for r in plan.routes if r.via in INSTAGRAM_ROUTES and r.tag is None
                   and (r.via != "comment" or text_only))
    if not routes:
        return Plan.refuse(Reason.NOT_ON_INSTAGRAM)
    return Plan(routes, per_day=plan.per_day)


def optin_limited(facts: Facts) -> bool:
    """Instagram's opt-in request limits reached: 10 titles in 7 days, or 5 requests in a day."""
    week = [t for t in facts.optins_asked if facts.now_ms - t < WEEK_MS]
    return len(week) >= OPTIN_TITLES_PER_WEEK or sum(facts.now_ms - t < DAY_MS for t in week) >= OPTINS_PER_DAY
