"""The dialogue plugin's Redis keys: trackers, human takeover, conversation logs, follow-ups."""

from __future__ import annotations

from dataclasses import dataclass

from bot.keys import Keys


@dataclass(frozen=True, slots=True)
class DialogueKeys(Keys):
    """A Page's keys with the dialogue plugin's own (``dlg:*``)."""

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
