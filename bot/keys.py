"""Every Redis key salebell uses, built in one place.

All keys of one Page share the hash tag ``{<page_id>}``, so one deployment can
serve several Pages and every multi-key Lua script stays inside one Redis
Cluster slot. Reading this file gives the whole Redis schema.
"""

from __future__ import annotations

from dataclasses import dataclass

# TTLs, in seconds
SEEN_TTL = 3 * 24 * 3600  # Meta retries a webhook for up to 36 h; keep dedupe marks longer
IDEMPOTENCY_TTL = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builders for one Page."""

    page_id: str

    @property
    def prefix(self) -> str:
        return f"sb:{{{self.page_id}}}:"

    # -- the one clock (sandbox offset; zero in production) -----------------
    @property
    def clock_offset(self) -> str:
        """Milliseconds added to Redis TIME; moved by ``POST /sandbox/clock``."""
        return self.prefix + "clock:offset"

    # -- inbound: webhook bodies and per-shopper queues ----------------------
    @property
    def inbox(self) -> str:
        """Stream of raw webhook bodies, XADDed before the 200."""
        return self.prefix + "inbox"

    @property
    def inbox_cursor(self) -> str:
        """Id of the last inbox entry split into the per-shopper queues (moved with the split itself)."""
        return self.prefix + "inbox:cursor"

    @property
    def splitter_lease(self) -> str:
        """The one process splitting the inbox (SET PX, renewed by each split): one splitter, stream order."""
        return self.prefix + "inbox:splitter"

    def seen(self, dedupe_key: str) -> str:
        """Mark that an event was already queued (redelivery guard)."""
        return self.prefix + "seen:" + dedupe_key

    def queue(self, ordering_key: str) -> str:
        """List of one shopper's pending events, oldest first."""
        return self.prefix + "q:" + ordering_key

    @property
    def ready(self) -> str:
        """ZSET of ordering keys with pending events and no lease, scored by arrival."""
        return self.prefix + "ready"

    @property
    def leases(self) -> str:
        """ZSET of ordering keys being handled, scored by lease expiry (ms)."""
        return self.prefix + "leases"

    @property
    def lease_owners(self) -> str:
        """HASH ordering key -> consumer holding its lease."""
        return self.prefix + "lease-owners"

    @property
    def counters(self) -> str:
        """HASH of cross-process counters exposed on /metrics (field = metric|label)."""
        return self.prefix + "counters"

    @property
    def dead_letters(self) -> str:
        """Stream of events whose handler kept failing, kept for inspection."""
        return self.prefix + "dead-letters"

    # -- sandbox --------------------------------------------------------------
    # The Messenger stand-in's records (bot/sandbox). Its Lua script
    # (bot/sandbox/send.lua) builds the per-shopper and per-token names below
    # from ``sandbox_prefix`` with the same suffixes; keep the two in step.
    @property
    def sandbox_prefix(self) -> str:
        """Every sandbox key starts with this (``POST /sandbox/reset`` deletes them)."""
        return self.prefix + "sandbox:"

    def sandbox_shopper(self, psid: str) -> str:
        """HASH name, timezone, created_ms, last_action_ms (the window), blocked."""
        return self.sandbox_prefix + "shopper:" + psid

    def sandbox_inbox(self, psid: str) -> str:
        """LIST of JSON messages the shopper received, oldest first."""
        return self.sandbox_prefix + "inbox:" + psid

    def sandbox_said(self, psid: str) -> str:
        """LIST of JSON records of what the shopper sent (messages, taps, opt-ins), oldest first, with timestamps."""
        return self.sandbox_prefix + "said:" + psid

    @property
    def sandbox_shoppers(self) -> str:
        """ZSET psid -> created_ms of every sandbox shopper (the Page inbox lists them)."""
        return self.sandbox_prefix + "shoppers"

    def sandbox_optin_requests(self, psid: str) -> str:
        """HASH title -> JSON of the latest opt-in card (kind, payload, at_ms), and
        ``tapped:<title>`` -> that card's at_ms once a one-time-notification card was tapped."""
        return self.sandbox_prefix + "optreq:" + psid

    def sandbox_nm_token(self, token: str) -> str:
        """HASH psid, title, payload, stopped, created_ms, last_legacy_ms, last_mm_ms of a marketing token."""
        return self.sandbox_prefix + "nmt:" + token

    def sandbox_nm_tokens_of(self, psid: str) -> str:
        """HASH title -> marketing token held by the shopper (one per topic)."""
        return self.sandbox_prefix + "nmt-of:" + psid

    def sandbox_otn_token(self, token: str) -> str:
        """HASH psid, title, payload, created_ms, used_ms of a one-time-notification token."""
        return self.sandbox_prefix + "otn:" + token

    def sandbox_post(self, post_id: str) -> str:
        """HASH message, created_ms, live_video_id of a Page post."""
        return self.sandbox_prefix + "post:" + post_id

    def sandbox_live_video(self, live_video_id: str) -> str:
        """HASH post_id, status (LiveVideo upper case), title of a live video."""
        return self.sandbox_prefix + "live:" + live_video_id

    @property
    def sandbox_instagram_lives(self) -> str:
        """SET media ids of the Instagram account's live videos (each one's status: its live video's)."""
        return self.sandbox_prefix + "ig-lives"

    def sandbox_comment(self, comment_id: str) -> str:
        """HASH psid, post_id, created_ms, replied (ms of the private reply) of a comment."""
        return self.sandbox_prefix + "comment:" + comment_id

    def sandbox_rate(self, second: int) -> str:
        """Counter of Graph calls in one clock second (the Page rate limit)."""
        return self.sandbox_prefix + "rate:" + str(second)

    @property
    def sandbox_sent(self) -> str:
        """LIST of JSON records: every Graph API request with its outcome."""
        return self.sandbox_prefix + "sent"

    @property
    def sandbox_receipts(self) -> str:
        """LIST of "psid ts mid" awaiting batched delivery/read webhooks."""
        return self.sandbox_prefix + "receipts"

    @property
    def sandbox_config(self) -> str:
        """HASH page_rate_limit, receipts, read_receipts, sent_log."""
        return self.sandbox_prefix + "config"

    @property
    def sandbox_faults(self) -> str:
        """HASH target (a PSID or "*") -> JSON of an armed test fault (``POST /sandbox/config {"fault"}``)."""
        return self.sandbox_prefix + "faults"

    @property
    def sandbox_fault_calls(self) -> str:
        """HASH target -> how many more Graph send calls the armed fault answers."""
        return self.sandbox_prefix + "fault-calls"

    @property
    def sandbox_subscribed_fields(self) -> str:
        """LIST of the webhook fields the app is installed with on the Page (``subscribed_apps``)."""
        return self.sandbox_prefix + "subscribed-fields"

    @property
    def sandbox_profile(self) -> str:
        """HASH field -> JSON of the Messenger profile (get_started, greeting, ...)."""
        return self.sandbox_prefix + "profile"

    # -- send limits ---------------------------------------------------------
    @property
    def send_page_rate(self) -> str:
        """The Page's send-rate limiter (GCRA theoretical arrival time, ms)."""
        return self.prefix + "sl:rate"

    @property
    def send_page_budget(self) -> str:
        """The Page's sends today against its daily budget ("day:count")."""
        return self.prefix + "sl:budget"

    def send_token(self, token_digest: str) -> str:
        """Last use of one marketing token, keyed by a digest (never the token itself)."""
        return self.prefix + "sl:tok:" + token_digest

    def send_shopper_day(self, psid: str) -> str:
        """One shopper's marketing/notification sends today ("day:count"), expiring after 2 days."""
        return self.prefix + "sl:day:" + psid

    @property
    def send_unused(self) -> str:
        """Placeholder for a send-limit script slot a call does not use; never written."""
        return self.prefix + "sl:-"

    # -- consent ledger, window and sending ----------------------------------
    def subscribers(self, topic: str) -> str:
        """HASH psid -> packed marketing subscription of one topic (status, token, tz, times)."""
        return self.prefix + "subs:" + topic

    def otn_tokens(self, topic: str) -> str:
        """HASH psid -> space-separated unused OTN tokens for one topic (a stack)."""
        return self.prefix + "otn:" + topic

    @property
    def opted_out(self) -> str:
        """SET of PSIDs who asked us (in chat) to stop every marketing send."""
        return self.prefix + "opted-out"

    @property
    def unreachable(self) -> str:
        """HASH psid -> error code: Meta says they cannot receive our messages."""
        return self.prefix + "unreachable"

    @property
    def shopper_regions(self) -> str:
        """HASH ``<psid>|<field>`` -> what Meta told of the shopper's region (:mod:`bot.shopper_regions`)."""
        return self.prefix + "regions"

    @property
    def window(self) -> str:
        """HASH psid -> epoch ms of the shopper's last qualifying action (opens the 24 h window)."""
        return self.prefix + "window"

    def optin_asked(self, psid: str) -> str:
        """HASH title -> epoch ms we last sent this shopper an opt-in request with that title."""
        return self.prefix + "asked:" + psid

    def private_replied(self, comment_id: str) -> str:
        """Set once a private reply to the comment was sent (one per comment)."""
        return self.prefix + "replied:" + comment_id

    @property
    def instagram_live_media(self) -> str:
        """STRING (JSON list) the Instagram account's media being broadcast, as Meta last said (a few seconds)."""
        return self.prefix + "ig-live-media"

    @property
    def outbox(self) -> str:
        """Stream of send jobs but campaign notifications (the reply lane), read first by the send workers."""
        return self.prefix + "outbox"

    @property
    def outbox_campaigns(self) -> str:
        """Stream of campaign send jobs (purpose ``notification``): read once the reply lane is empty."""
        return self.prefix + "outbox:c"

    @property
    def outbox_delayed(self) -> str:
        """ZSET job id -> due ms (deployment clock) of reply-lane jobs waiting to be tried again
        (network error, throttle, Page pause); the job's JSON waits on its record (field ``job``)."""
        return self.prefix + "outbox:delayed"

    @property
    def outbox_campaigns_delayed(self) -> str:
        """ZSET job id -> due ms of campaign-lane jobs waiting to be tried again (as ``outbox_delayed``)."""
        return self.prefix + "outbox:c:delayed"

    @property
    def send_throttle(self) -> str:
        """HASH of the Page's send pause and slowdown, shared by every send worker: ``until`` (ms), ``kind``
        (``throttle``: Meta throttled us; ``usage``: a usage header near 100 %), ``level`` (throttles in a
        row, for the backoff), ``probe`` (ms of the last probe call), ``slow_until`` (ms: half rate until)."""
        return self.prefix + "sl:throttle"

    def last_reply(self, psid: str) -> str:
        """STRING: the id of the reply job last queued to this shopper (the next one names it as ``after``)."""
        return self.prefix + "last-reply:" + psid

    def send_record(self, job_id: str) -> str:
        """HASH: a send job's state and outcome (its idempotency record)."""
        return self.prefix + "send:" + job_id

    def send_worker_alive(self, name: str) -> str:
        """STRING with a short TTL, refreshed every second by a running send worker: a job marked
        sending by a worker whose key is gone sits with a dead worker."""
        return self.prefix + "send-alive:" + name

    def echo_seen(self, metadata: str) -> str:
        """Set when an echo carrying our metadata (a job id) arrived: proof the send happened."""
        return self.prefix + "echo:" + metadata

    def marketing_echo(self, token_digest: str) -> str:
        """"<ms>:<tracking id>" of the last Marketing Message API echo for a token (keyed by its digest)."""
        return self.prefix + "mm-echo:" + token_digest

    @property
    def marketing_echo_latest(self) -> str:
        """Send time (ms) of the newest Marketing Message API send Meta has echoed: proof echoes flow."""
        return self.prefix + "mm-echo-latest"

    @property
    def utility_templates(self) -> str:
        """HASH: utility template name -> JSON ``{"id", "status", "language"}`` (bot.utility_templates)."""
        return self.prefix + "utility-templates"

    def campaign_stats(self, campaign: str) -> str:
        """HASH of a campaign's numbers (queued, sent, skipped|reason, failed|reason, delivered, read)."""
        return self.prefix + "stats:c:" + campaign

    def daily_stats(self, day: str) -> str:
        """HASH of one day's numbers (same fields as a campaign), day as YYYY-MM-DD."""
        return self.prefix + "stats:d:" + day

    def awaiting_receipt(self, psid: str) -> str:
        """ZSET of "campaign|day|job|s" members (``|d`` once delivered) scored a second before the job was
        marked sending, until delivered/read watermarks pass them; a job that ends unsent takes its member out."""
        return self.prefix + "rcpt:" + psid

    def campaign_cancelled(self, campaign: str) -> str:
        """Set when a campaign (a fan-out) is cancelled: its queued jobs are skipped as ``cancelled``."""
        return self.prefix + "cancelled:" + campaign

    # -- live sales --
    # The live-sale domain (live_sales/): sales, blasts and their resumable fan-outs.
    def live_sale(self, sale_id: str) -> str:
        """HASH of one live sale: title, url, topic, status, times, post_ids/products (JSON), video_id."""
        return self.prefix + "ls:sale:" + sale_id

    @property
    def live_sale_seq(self) -> str:
        """Counter behind live-sale ids (``ls-<n>``)."""
        return self.prefix + "ls:seq"

    @property
    def live_sales_all(self) -> str:
        """ZSET sale id -> scheduled ms: every sale, for listing."""
        return self.prefix + "ls:all"

    @property
    def live_sales_scheduled(self) -> str:
        """ZSET sale id -> scheduled ms of sales still ``scheduled`` (the webhook picks the next one)."""
        return self.prefix + "ls:scheduled"

    @property
    def live_sales_live(self) -> str:
        """ZSET sale id -> started ms of sales now ``live``."""
        return self.prefix + "ls:live"

    @property
    def live_sale_links(self) -> str:
        """HASH linked post or live-video id -> sale id (the ``live_videos`` webhook finds its sale here)."""
        return self.prefix + "ls:links"

    # Products and claims of a sale (live_sales/products.py, live_sales/claims.py). A lot is one
    # product's variant, named "<code>|<VARIANT>" ("<code>|" for a product without variants).
    def sale_products(self, sale_id: str) -> str:
        """HASH product code -> the product as JSON (title, price, image_url, variants, added order)."""
        return self.prefix + "ls:products:" + sale_id

    def sale_stock(self, sale_id: str) -> str:
        """HASH lot -> the units the host has of it."""
        return self.prefix + "ls:stock:" + sale_id

    def sale_taken(self, sale_id: str) -> str:
        """HASH lot -> units held by claims ``claimed`` or ``paid`` (left = stock - taken, never below 0)."""
        return self.prefix + "ls:taken:" + sale_id

    def claim_lot(self, sale_id: str, lot: str) -> str:
        """ZSET claim id -> comment ms: the lot's claims not holding units (``pending``, ``waitlisted``),
        in comment-time order (equal times by claim id)."""
        return self.prefix + "ls:lot:" + sale_id + ":" + lot

    def claim_lot_pending(self, sale_id: str, lot: str) -> str:
        """ZSET claim id -> comment ms: the lot's ``pending`` claims (not settled yet), the only ones a
        settle step reads past the head of the line."""
        return self.prefix + "ls:lot-pending:" + sale_id + ":" + lot

    def claim(self, claim_id: str) -> str:
        """HASH of one claim (its id is the comment's): sale, lot, quantity, commenter, times, status."""
        return self.prefix + "ls:claim:" + claim_id

    def sale_claims(self, sale_id: str) -> str:
        """ZSET claim id -> comment ms: every claim of a sale, for the host's view."""
        return self.prefix + "ls:claims:" + sale_id

    def claim_numbers(self, sale_id: str) -> str:
        """HASH what -> count: what the claim steps did for a sale (live_sales/claim_numbers.py)."""
        return self.prefix + "ls:claim-numbers:" + sale_id

    @property
    def claims_due(self) -> str:
        """ZSET claim id -> ms when its answer is settled: ``pending`` claims, for the settler."""
        return self.prefix + "ls:claims-due"

    @property
    def claims_holds(self) -> str:
        """ZSET claim id -> ms its hold runs out: ``claimed`` claims not paid yet (``CLAIM_HOLD_MINUTES``)."""
        return self.prefix + "ls:claims-holds"

    @property
    def claims_unanswered(self) -> str:
        """ZSET claim id -> decided ms: decided claims whose private reply is not queued yet."""
        return self.prefix + "ls:claims-unanswered"

    def broadcast(self, broadcast_id: str) -> str:
        """HASH of one blast: topic, text, url, button, created_ms."""
        return self.prefix + "bc:" + broadcast_id

    @property
    def broadcast_seq(self) -> str:
        """Counter behind blast ids (``bc-<n>``)."""
        return self.prefix + "bc:seq"

    @property
    def broadcasts_all(self) -> str:
        """ZSET blast id -> created ms."""
        return self.prefix + "bc:all"

    def fanout(self, campaign: str) -> str:
        """HASH of a campaign's fan-out: kind, source, topic, phase (snapshot, walk, done), index, eligible,
        state, times."""
        return self.prefix + "fo:" + campaign

    def fanout_recipients(self, campaign: str) -> str:
        """LIST: the campaign's recipient snapshot (PSIDs), walked by index; deleted when the fan-out ends."""
        return self.prefix + "fo-rcpt:" + campaign

    def fanout_lease(self, campaign: str) -> str:
        """The process advancing a fan-out (SET NX PX); expires when that process dies."""
        return self.prefix + "fo-lease:" + campaign

    @property
    def shopper_names(self) -> str:
        """HASH psid -> "fetched_ms|name" from the User Profile API ("" when Meta gave none), for the dashboard."""
        return self.prefix + "ls:names"

    @property
    def fanouts_active(self) -> str:
        """SET of campaigns whose fan-out still has subscribers to queue (polled by every process)."""
        return self.prefix + "fo-active"

    # -- dialogue --------------------------------------------------------------
    def tracker(self, psid: str) -> str:
        """STRING: JSON of one shopper's dialogue state in rasa's TrackerState shape (the dialogue plugin)."""
        return self.prefix + "dlg:tracker:" + psid

    @property
    def human_paused(self) -> str:
        """HASH psid -> epoch ms until which the bot stays quiet: a human took over the thread."""
        return self.prefix + "dlg:paused"

    @property
    def needs_human(self) -> str:
        """ZSET psid -> ms since their conversation waits for a person: the bot had no answer."""
        return self.prefix + "dlg:needs-human"

    def conversation(self, psid: str) -> str:
        """LIST of JSON entries: what a shopper wrote during a human takeover and what people answered
        (the last 50; the dialogue plugin's :mod:`dialogue.conversation_log`)."""
        return self.prefix + "dlg:conv:" + psid

    @property
    def conversations(self) -> str:
        """ZSET psid -> ms of the latest entry of their conversation log (the agents' list; trimmed)."""
        return self.prefix + "dlg:convs"

    @property
    def thread_passed(self) -> str:
        """HASH psid -> ms the bot passed thread control to the Page Inbox (until it takes it back)."""
        return self.prefix + "dlg:thread-passed"

    @property
    def fallback_answered(self) -> str:
        """ZSET psid -> ms of their last fallback answer (one per FALLBACK_QUIET_HOURS; pruned as it goes)."""
        return self.prefix + "dlg:fallback-at"

    @property
    def followups(self) -> str:
        """ZSET psid -> due ms (deployment clock) of the one opt-in follow-up pending per shopper."""
        return self.prefix + "dlg:followups"

    @property
    def followups_claimed(self) -> str:
        """ZSET "psid:due_ms" -> lease expiry ms: follow-ups a process took and has not finished."""
        return self.prefix + "dlg:followups-claimed"

