"""The runtime's Redis keys, built in one place.

All keys of one Page share the hash tag ``{<page_id>}``, so one deployment can
serve several Pages and every multi-key Lua script stays inside one Redis
Cluster slot. A plugin's own keys live in its package and extend :class:`Keys`
(``bot/sandbox/keys.py``, ``live_sales/keys.py``, ``dialogue/keys.py``), so they
carry the same prefix; this file and those three give the whole Redis schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

# TTLs, in seconds
SEEN_TTL = 3 * 24 * 3600  # Meta retries a webhook for up to 36 h; keep dedupe marks longer
IDEMPOTENCY_TTL = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builders for one Page: the runtime's (inbox, queues, sending, consent, numbers).

    A plugin's key builders subclass it (no new fields) and are made from a Page's
    ``Keys`` with :meth:`of`, so one object gives a plugin the runtime's keys and its own.
    """

    page_id: str

    @classmethod
    def of(cls, keys: Keys) -> Self:
        """The same Page's keys, as this keyspace (a plugin's subclass)."""
        return keys if isinstance(keys, cls) else cls(keys.page_id)

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
