"""Line-oriented front end of the spotter, for ``salebell nlu`` (wired by ``bot.cli``).

One message per input line in, one JSON object per line out, so shop owners can try
their keywords and support staff can label exports with standard tools (``jq``):
``{"text", "intent", "confidence", "confirm"}``, where ``confirm`` means the bot would
ask "Stop live reminders?" before stopping anything. With ``explain`` each object also
says what decided (``decided_by``: the rule, or the model's score against which
threshold), the rules' verdict, the model's probabilities and the thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from dialogue.intent import discover
from dialogue.nlu.model import LinearModel
from dialogue.nlu.spotter import Spotter

__all__ = ["run_nlu_cli"]


def run_nlu_cli(stdin: TextIO, stdout: TextIO, optin_keywords: Sequence[str], *, explain: bool = False,
                model: LinearModel | str | None = "default") -> None:
    """Spot every line of ``stdin``; write one JSON object per line.

    The built-in intents come from the ``intents`` package. Output is flushed per line so
    the command works interactively and in pipes.
    """
    spotter = Spotter(discover("intents"), optin_keywords=optin_keywords, model=model)  # type: ignore[arg-type]
    for line in stdin:
        text = line.rstrip("\r\n")
        if explain:
            record = spotter.explain(text).as_dict()
        else:
            spotted = spotter.spot(text)
            record = {"text": text, "intent": spotted.intent, "confidence": spotted.confidence,
                      "confirm": spotted.confirm}
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()
