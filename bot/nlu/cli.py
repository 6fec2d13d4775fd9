"""Line-oriented front end of the spotter, for ``salebell nlu`` (wired by ``bot.cli``).

One message per input line in, one JSON object per line out, so shop owners can try
their keywords and support staff can label exports with standard tools (``jq``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from bot.intent import discover
from bot.nlu.spotter import Spotter

__all__ = ["run_nlu_cli"]


def run_nlu_cli(stdin: TextIO, stdout: TextIO, optin_keywords: Sequence[str]) -> None:
    """Spot every line of ``stdin``; write ``{"text", "intent", "confidence"}`` per line.

    The built-in intents come from the ``intents`` package. Output is flushed per line so
    the command works interactively and in pipes.
    """
    spotter = Spotter(discover("intents"), optin_keywords=optin_keywords)
    for line in stdin:
        text = line.rstrip("\r\n")
        spotted = spotter.spot(text)
        record = {"text": text, "intent": spotted.intent, "confidence": spotted.confidence}
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
