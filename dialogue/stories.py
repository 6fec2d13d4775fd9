"""What the dialogue notes of an Instagram story a message is about (issue 15).

A reply to the shop's story is a DM like any other: its text goes through the spotter and the
intent's action as any message (so "LIVE" answering a story gets the opt-in card); the tracker
notes which story it answered. A mention of the shop in the shopper's story says nothing to spot:
the engine answers it with ``action_story_mention`` (``intents/story_mention.py``).
"""

from __future__ import annotations

from typing import Any

from bot.events import MessageEvent


def story_source(event: MessageEvent) -> dict[str, Any]:
    """The tracker metadata of a message: its source, and the story it answers if any (a story reply's source
    stays ``message``: it is read as any DM, a typed answer to a question included)."""
    if event.story_reply is not None:
        return {"source": "message", "story_reply": event.story_reply.id}
    if event.story_mention is not None:
        return {"source": "story_mention"}
    return {"source": "message"}
