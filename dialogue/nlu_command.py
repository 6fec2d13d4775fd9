"""``salebell nlu``: read messages on stdin, write what the intent spotter makes of each (registered on import)."""

from __future__ import annotations

import argparse
import sys

from bot.cli import command
from bot.errors import ConfigError
from bot.settings import Settings


def _nlu_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--explain", action="store_true",
                        help="also say which rule or score decided, with the model's probabilities")


@command("nlu", "Read messages on stdin, write one JSON object per line with intent and confidence",
         _nlu_arguments)
def nlu(args: argparse.Namespace, settings: Settings) -> int:
    from .nlu.cli import run_nlu_cli  # noqa: PLC0415 - keeps start-up of other commands light
    from .nlu.spotter import model_setting  # noqa: PLC0415

    try:
        model = model_setting(settings.nlu_weights)
    except ConfigError as exc:
        print(f"salebell: NLU_WEIGHTS: {exc}", file=sys.stderr)
        return 2
    run_nlu_cli(sys.stdin, sys.stdout, settings.optin_keywords, explain=args.explain, model=model)
    return 0
