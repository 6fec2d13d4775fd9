"""The shopper's answer to a claim comment: its one private reply (messenger-platform.md §3.8, §4.6).

A comment allows one private reply, within 7 days; the outbox's policy refuses a second one
(``already_replied``) and a late one (``too_old``), so a claim's answer is one send job with the
id ``claim:<comment id>``, queued once however many processes settle the claim:

- ``claimed``: "You got <title> (<variant>) x<n>" and, when ``CHECKOUT_URL_TEMPLATE`` is set, a
  "Check out" button to it, ``{claim_id}``, ``{code}``, ``{variant}`` and ``{sale_id}`` filled in
  (URL-quoted); without the template the text alone;
- ``waitlisted``: "<title> is taken; you are number <N> on the waitlist";
- ``promoted``: a waitlisted shopper got a freed unit after their private reply went: "Good news"
  with the same link, a message to their PSID (job ``claim-promoted:<comment id>``, purpose
  ``response``), which the policy lets go only inside the 24-hour window (§4.1); the claim
  script gives the unit only to a shopper inside it (:mod:`live_sales.claim_scripts`).

A private reply goes on the replies lane, which the send workers read before campaign sends
(:mod:`bot.outbox`). It does not open the 24-hour window (§3.8).

On Instagram (a claim whose commenter is an ``ig:`` shopper, issue 15) the private reply is a text
only: Meta documents nothing else for it and the policy refuses more (``not_on_instagram``,
:mod:`bot.instagram_policy`), so the "claimed" answer carries the checkout link in its text, not as a
button. Its jobs go on the Instagram channel (the comment's, ``POST /{ig-account}/messages``), and a
reply to a comment under an Instagram live carries that live (``live_media``), so it is refused
``live_ended`` before any call once the broadcast is over (:mod:`bot.instagram_live`). A promotion is a
message inside the window and keeps its button, as the dialogue's templates do there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.channels import INSTAGRAM, Channel, channel_of
from bot.graph import payloads
from bot.send_jobs import SendJob

from .claim_numbers import answers_campaign

CHECK_OUT = "Check out"
TEXT_MAX = 640


def job_id(claim_id: str) -> str:
    return "claim:" + claim_id.replace("|", "/")


def checkout_url(template: str, claim: Mapping[str, str]) -> str:
    """The template with the claim's fields, each URL-quoted ('' if there is no template)."""
    if not template:
        return ""
    url = template
    for name, field in (("claim_id", "id"), ("code", "code"), ("variant", "variant"), ("sale_id", "sale")):
        url = url.replace("{" + name + "}", quote(claim.get(field, ""), safe=""))
    return url


def _what(claim: Mapping[str, str], title: str) -> str:
    variant = f" ({claim['variant']})" if claim.get("variant") else ""
    quantity = int(claim.get("quantity") or 1)
    return f"{title} [{claim.get('code', '')}]{variant}" + (f" x{quantity}" if quantity > 1 else "")


def _short(text: str, limit: int = TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def answer_message(claim: Mapping[str, str], title: str, template: str,
                   channel: Channel = "messenger") -> dict[str, Any]:
    """The message for a decided claim (``answer``: claimed, waitlisted or promoted); on Instagram the
    private reply ("claimed") is a text with the checkout link in it."""
    what = _what(claim, title)
    if claim.get("answer") in ("claimed", "promoted"):
        opening = "You got it!" if claim.get("answer") == "claimed" else "Good news! A unit freed up:"
        url = checkout_url(template, claim)
        if url and channel == INSTAGRAM and claim.get("answer") == "claimed":
            head = _short(f"{opening} {what} is yours.", max(80, TEXT_MAX - len(url) - 40))
            return payloads.text(f"{head} Check out here to pay and ship: {url}")
        if url:
            body = _short(f"{opening} {what} is yours. Check out here to pay and ship.")
            return payloads.button_template(body, [payloads.web_url_button(CHECK_OUT, url)])
        return payloads.text(_short(f"{opening} {what} is yours. We'll message you about payment."))
    position = int(claim.get("position") or 0)
    return payloads.text(_short(f"Sorry, {what} is all claimed for now. You're number {position} on the "
                                "waitlist: if a unit frees up, it goes to the next in line."))


def answer_job(claim: Mapping[str, str], title: str, template: str) -> SendJob:
    """The claim's answer, on the commenter's channel (an ``ig:`` commenter: Instagram)."""
    campaign = answers_campaign(claim.get("sale", ""))
    channel = channel_of(claim.get("psid"))
    message = answer_message(claim, title, template, channel)
    if claim.get("answer") == "promoted":
        return SendJob(id="claim-promoted:" + claim["id"].replace("|", "/"), purpose="response",
                       message=message, psid=claim["psid"], campaign=campaign)
    return SendJob(id=job_id(claim["id"]), purpose="private_reply", message=message, comment_id=claim["id"],
                   comment_ms=int(claim.get("comment_ms") or 0), campaign=campaign, channel=channel,
                   live_media=claim.get("live_media", ""))


def variant_question(comment_id: str, comment_ms: int, sale_id: str, title: str, code: str,
                     variants: list[str], channel: Channel = "messenger", live_media: str = "") -> SendJob:
    """The reply to a claim that names no variant (or one the product has not): which one? A text on either
    channel, counted with the sale's claim answers."""
    choices = ", ".join(variants)
    body = _short(f"Which one of {title} [{code}] do you want: {choices}? Comment again with it, "
                  f"e.g. SOLD {code} {variants[0]}.")
    return SendJob(id=job_id(comment_id), purpose="private_reply", message=payloads.text(body),
                   comment_id=comment_id, comment_ms=comment_ms, campaign=answers_campaign(sale_id), channel=channel,
                   live_media=live_media)
