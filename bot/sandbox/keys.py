"""The sandbox's Redis keys: its shoppers, posts, tokens, sent log, faults and profile (one Page's)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.keys import Keys


@dataclass(frozen=True, slots=True)
class SandboxKeys(Keys):
    """A Page's keys with the sandbox's own (``sandbox_*``, all under ``sandbox_prefix``)."""

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

    @property
    def sandbox_message_templates(self) -> str:
        """HASH ``<name>:<language>`` -> JSON of the Page's own message templates."""
        return self.sandbox_prefix + "message-templates"
