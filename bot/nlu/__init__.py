"""Intent spotting for shopper messages: fast, rule-based, multilingual, no I/O.

>>> from bot.intent import discover
>>> spotter = Spotter(discover("intents"))
>>> spotter.spot("LIVE po 🔴").intent
'opt_in_reminders'
"""

from bot.nlu.normalize import normalize
from bot.nlu.spotter import Spotted, Spotter

__all__ = ["Spotted", "Spotter", "normalize"]
