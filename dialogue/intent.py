"""Intent declarations and their discovery.

A developer adds an intent by dropping one module into the ``intents`` package that
defines a module-level ``INTENT = Intent(...)``; :func:`discover` imports every module of
the package and collects them, so ``bot/`` never needs editing. The spotter
(:class:`dialogue.nlu.Spotter`) compiles the declarations once.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rasa-sdk is imported by the intent files themselves, not by the spotter
    from rasa_sdk import Action

__all__ = ["Intent", "discover"]

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Intent:
    """What a shopper can mean, declared as data.

    - ``keywords``: words or phrases that *are* the message when typed on their own, give
      or take politeness particles, vocatives ("kak", "shop ơi"), emoji, letter
      stretching and a greeting ("stop", "unsubscribe po", "hiii"). Matched loosely:
      case, accents and doubled letters do not matter.
    - ``patterns``: regular expressions searched anywhere in the normalised message (see
      :func:`dialogue.nlu.normalize`). They may use the shared fragments ``{live}``,
      ``{request}`` and ``{stock}`` from :mod:`dialogue.nlu.lexicon`; a pattern is tried only
      on messages containing every fragment it names. Join parts with a bounded gap
      (``{request}.{0,60}{live}``) rather than ``.*``: it keeps both in one clause and
      the search linear.
    - ``examples``: whole messages that mean this intent; an exact (normalised) match is
      the strongest evidence, and the tests check that each one is spotted as this intent.
    - ``languages``: ISO codes the declaration covers (documentation and coverage checks).
    - ``priority``: when several intents match, the highest priority wins; so an opt-out
      (which must never be missed) outranks everything.
    - ``action``: the rasa-sdk ``Action`` subclass that answers the intent (run by
      :mod:`dialogue`); ``None`` for an intent that is only spotted.
    - ``payloads``: postback and quick-reply payloads that mean this intent when tapped
      ("OPTIN_YES"); a payload ``/<intent name>`` always does, rasa-style.
    """

    name: str
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    priority: int = 0
    action: type[Action] | None = None
    payloads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.name == "none":
            raise ValueError(f"intent name must be snake_case and not 'none': {self.name!r}")
        for attr in ("keywords", "examples", "patterns", "languages", "payloads"):
            value = getattr(self, attr)
            if isinstance(value, str):  # a bare str would be split into letters
                raise TypeError(f"Intent.{attr} must be a tuple of str, not a str")
            if not isinstance(value, tuple):
                object.__setattr__(self, attr, tuple(value))
        if self.action is not None and not (isinstance(self.action, type) and callable(
                getattr(self.action, "name", None))):
            raise TypeError(f"Intent.action of {self.name!r} must be a rasa-sdk Action subclass")


def discover(package: str = "intents") -> list[Intent]:
    """Import every module of ``package`` and return its ``INTENT`` objects, by name.

    Modules without an ``INTENT`` (helpers) are skipped; two modules declaring the same
    intent name are an error, since one would silently shadow the other.
    """
    pkg = importlib.import_module(package)
    found: dict[str, Intent] = {}
    for info in pkgutil.iter_modules(pkg.__path__, prefix=f"{package}."):
        module = importlib.import_module(info.name)
        intent = getattr(module, "INTENT", None)
        if not isinstance(intent, Intent):
            continue
        if intent.name in found:
            raise ValueError(f"intent {intent.name!r} is declared twice (in {info.name})")
        found[intent.name] = intent
    return [found[name] for name in sorted(found)]
