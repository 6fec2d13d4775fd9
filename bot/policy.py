"""The policy engine: how a message may go, or why it may not — decided before any HTTP call.

:func:`decide` is pure: it takes a send job and the facts read from Redis
(:class:`Facts`) and returns a :class:`Plan`: the routes to try in order, or the
reason the message must not be sent. The send worker then applies the token
buckets to each route. Rules (messenger-platform.md §3–4, DESIGN.md):

- replies (``response``) need the 24-hour window;
- opt-in requests need the window, at most one per title per week, and no local opt-out
  unless the shopper asked for it just now (``explicit``);
- OTN requests need the window and OTN switched on, and a shopper not in the EU or UK;
- a private reply: one per comment, within 7 days of it;
- a notification (live sale, blast) goes only to a subscriber of its topic (a marketing
  subscription or an OTN token) who did not say stop: inside the window as a normal message;
  else with a marketing token on the configured path
  (legacy: 48 h gap, only to subscribers in the AU/EU/JP/KR/UK geos; Marketing Message API:
  12 h gap, not to EU/UK/JP/KR/AU subscribers); else with an OTN token of the topic (not in the
  EU or UK); else it is skipped. Regions: :class:`bot.regions.Region`;
- a transactional update (an order) goes inside the window; outside it, when
  ``UTILITY_MESSAGES_ENABLED`` (the Page has ``page_utility_messaging``), as a utility message from
  the Page's approved template for it (``template_not_approved`` when that template is not
  APPROVED, or was never synced; §3.3, §9), else with the POST_PURCHASE_UPDATE tag if tags are on
  (``feature_off`` with neither); free text (no template) never goes outside the window; never
  for promotions;
- a person's reply from the admin API or the dashboard (``agent_reply``) goes inside the
  window as a normal RESPONSE, else with the HUMAN_AGENT tag within 7 days of the shopper's
  last message, only when ``HUMAN_AGENT_TAG`` is on (Meta grants the feature through App
  Review, §3.3, §4.1); after 7 days it is ``too_old``. The tag is never used for the bot's
  own sends: they stay bound to the 24-hour window even after a human reply (§4.1);
- a ``thread_control`` job (pass, take or request thread control, §2.11) is no message: it goes;
- a job for an Instagram shopper: the plan narrowed to Instagram's routes (:mod:`bot.instagram_policy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from .consent import ShopperConsent
from .regions import Region, marketing_api_closed
from .settings import Settings

HOUR_MS = 3_600_000
WINDOW_MS = 24 * HOUR_MS
WEEK_MS = 7 * 24 * HOUR_MS
TOKEN_GAP_MS = {"legacy": 48 * HOUR_MS, "marketing_api": 12 * HOUR_MS}
TRANSACTIONAL_TAG = "POST_PURCHASE_UPDATE"
HUMAN_AGENT_TAG = "HUMAN_AGENT"
HUMAN_AGENT_MS = 7 * 24 * HOUR_MS  # a person may answer this long after the shopper's last message (§3.3)

Purpose = Literal["response", "optin_request", "otn_request", "private_reply", "notification", "transactional",
                  "agent_reply", "thread_control"]
PURPOSES: tuple[str, ...] = ("response", "optin_request", "otn_request", "private_reply", "notification",
                             "transactional", "agent_reply", "thread_control")


class Reason(StrEnum):
    """Why a message was not sent. A fixed list: metrics and numbers are labelled with it."""

    OUTSIDE_WINDOW = "outside_window"
    NO_TOKEN = "no_token"
    TOKEN_STOPPED = "token_stopped"
    FREQUENCY = "frequency"
    OPTED_OUT = "opted_out"
    FEATURE_OFF = "feature_off"
    REGION = "region"
    UNREACHABLE = "unreachable"
    ALREADY_REPLIED = "already_replied"
    TOO_OLD = "too_old"
    PAGE_BUDGET = "page_budget"
    CANCELLED = "cancelled"
    TEMPLATE_NOT_APPROVED = "template_not_approved"
    NOT_ON_INSTAGRAM = "not_on_instagram"  # the route the job needs does not exist on Instagram (bot.instagram_policy)
    LIVE_ENDED = "live_ended"  # a private reply to a comment on an Instagram live video that is no longer broadcast


@dataclass(frozen=True, slots=True)
class Route:
    """One way a message may go out."""

    via: Literal["psid", "comment", "marketing_legacy", "marketing_api", "otn", "tag", "thread", "utility",
                 "instagram", "instagram_comment"]
    messaging_type: str | None = None
    tag: str | None = None
    token: str | None = None
    token_gap_ms: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    routes: tuple[Route, ...]
    skip: Reason | None = None
    per_day: bool = False  # counts against the shopper's sends per day

    @classmethod
    def refuse(cls, reason: Reason) -> Plan:
        return cls((), reason)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the policy needs to know, read from Redis just before deciding."""

    now_ms: int
    last_action_ms: int = 0
    consent: ShopperConsent | None = None
    optin_asked_ms: int = 0  # last opt-in request with this job's title
    # an Instagram opt-in request's: when each title was last asked of the shopper (bot.instagram_policy)
    optins_asked: tuple[int, ...] = ()
    comment_ms: int = 0
    already_replied: bool = False
    cancelled: bool = False  # the job's campaign was cancelled
    region: Region = Region()  # what Meta told of where the shopper is (bot.shopper_regions)
    template_status: str = ""  # the review status of the utility template the job needs ('' if never synced)
    live_ended: bool = False  # the Instagram live video the job's comment is under is known no longer broadcast

    @property
    def in_window(self) -> bool:
        return in_window(self.last_action_ms, self.now_ms)


def region_blocked(timezone: str) -> bool:
    """True when a subscriber in this time zone may not get Marketing Message API sends (:mod:`bot.regions`)."""
    return marketing_api_closed(timezone)


def in_window(last_action_ms: int, now_ms: int) -> bool:
    """The 24-hour window: the shopper's last message (or other action) less than a day ago."""
    return last_action_ms > 0 and now_ms - last_action_ms < WINDOW_MS


def decide(purpose: Purpose, facts: Facts, settings: Settings, *, explicit: bool = False,
           free_text: bool = False, utility: bool = False) -> Plan:
    """The routes a message of this purpose may take now, best first, or the reason it may not go.

    ``free_text``: a transactional message in the shop's own words rather than rendered from a
    structured update; outside the window no tag may carry it (it could be an ad).
    ``utility``: the job carries the template and parameters of a utility message."""
    consent = facts.consent
    if facts.cancelled:
        return Plan.refuse(Reason.CANCELLED)
    if consent is not None and consent.unreachable and purpose != "private_reply":
        return Plan.refuse(Reason.UNREACHABLE)
    if purpose == "response":
        return _in_window(facts, "RESPONSE")
    if purpose == "optin_request":
        if consent is not None and consent.opted_out and not explicit:
            return Plan.refuse(Reason.OPTED_OUT)
        if facts.optin_asked_ms and facts.now_ms - facts.optin_asked_ms < WEEK_MS:
            return Plan.refuse(Reason.FREQUENCY)
        return _in_window(facts, "RESPONSE")
    if purpose == "otn_request":
        if not settings.otn_enabled:
            return Plan.refuse(Reason.FEATURE_OFF)
        if facts.region.otn_closed():
            return Plan.refuse(Reason.REGION)
        return _in_window(facts, "RESPONSE")
    if purpose == "private_reply":
        if facts.already_replied:
            return Plan.refuse(Reason.ALREADY_REPLIED)
        if facts.comment_ms and facts.now_ms - facts.comment_ms >= WEEK_MS:
            return Plan.refuse(Reason.TOO_OLD)
        return Plan((Route("comment"),))
    if purpose == "transactional":
        if facts.in_window:
            return Plan((Route("psid", "UPDATE"),))
        if free_text:
            return Plan.refuse(Reason.OUTSIDE_WINDOW)
        return transactional_plan(facts, settings, utility=utility)
    if purpose == "thread_control":
        return Plan((Route("thread"),))  # not a message: no window, no limits (§2.11)
    if purpose == "agent_reply":
        return agent_reply_plan(facts, settings)
    if purpose == "notification":
        return _notification(facts, settings)
    raise ValueError(f"unknown purpose {purpose!r}")


def transactional_plan(facts: Facts, settings: Settings, *, utility: bool) -> Plan:
    """A structured update outside the window (§3.3, §9): a utility message from its approved template
    when ``UTILITY_MESSAGES_ENABLED``; else the POST_PURCHASE_UPDATE tag when ``MESSAGE_TAGS_ENABLED``."""
    if settings.utility_messages_enabled and utility:
        if facts.template_status != "APPROVED":
            return Plan.refuse(Reason.TEMPLATE_NOT_APPROVED)
        return Plan((Route("utility", "UTILITY"),))
    if not settings.message_tags_enabled:
        return Plan.refuse(Reason.FEATURE_OFF)
    return Plan((Route("tag", "MESSAGE_TAG", tag=TRANSACTIONAL_TAG),))


def agent_reply_plan(facts: Facts, settings: Settings) -> Plan:
    """A person's reply (§3.3, §4.1): inside the window as RESPONSE; else HUMAN_AGENT within 7 days of the
    shopper's last message when ``HUMAN_AGENT_TAG`` is on (``feature_off`` otherwise); after 7 days ``too_old``."""
    if facts.in_window:
        return Plan((Route("psid", "RESPONSE"),))
    if facts.last_action_ms <= 0 or facts.now_ms - facts.last_action_ms >= HUMAN_AGENT_MS:
        return Plan.refuse(Reason.TOO_OLD)
    if not settings.human_agent_tag:
        return Plan.refuse(Reason.FEATURE_OFF)
    return Plan((Route("tag", "MESSAGE_TAG", tag=HUMAN_AGENT_TAG),))


def _in_window(facts: Facts, messaging_type: str) -> Plan:
    if not facts.in_window:
        return Plan.refuse(Reason.OUTSIDE_WINDOW)
    return Plan((Route("psid", messaging_type),))


def _notification(facts: Facts, settings: Settings) -> Plan:
    consent = facts.consent
    if consent is None:
        return Plan.refuse(Reason.NO_TOKEN)
    if consent.opted_out:
        return Plan.refuse(Reason.OPTED_OUT)
    sub = consent.subscription
    if sub is not None and sub.status == "stopped":
        # STOP in Messenger: no marketing message of any route until they resume or opt in again.
        return Plan.refuse(Reason.TOKEN_STOPPED)
    if sub is None and not consent.otn_tokens:
        return Plan.refuse(Reason.NO_TOKEN)  # never opted in: an open window is no consent to promotions
    routes: list[Route] = []
    if facts.in_window:
        routes.append(Route("psid", "UPDATE"))
    fallback = Reason.NO_TOKEN
    region = facts.region.with_timezone(sub.timezone if sub is not None else "")
    if sub is not None:
        path = settings.marketing_path
        if region.marketing_api_closed() if path == "marketing_api" else region.legacy_closed():
            fallback = Reason.REGION
        else:
            via: Literal["marketing_legacy", "marketing_api"] = (
                "marketing_api" if path == "marketing_api" else "marketing_legacy")
            routes.append(Route(via, token=sub.token, token_gap_ms=TOKEN_GAP_MS[path]))
    if consent.otn_tokens:
        if not settings.otn_enabled:
            fallback = fallback if routes else Reason.FEATURE_OFF
        elif region.otn_closed():
            fallback = Reason.REGION
        else:
            routes.append(Route("otn"))
    if not routes:
        return Plan.refuse(fallback)
    return Plan(tuple(routes), per_day=True)
