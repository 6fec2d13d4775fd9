"""Intent spotting for shopper messages: multilingual rules and a small learned model, no I/O.

>>> from dialogue.intent import discover
>>> spotter = Spotter(discover("intents"))
>>> spotter.spot("LIVE po 🔴").intent
'opt_in_reminders'
"""

from dialogue.nlu.normalize import normalize
from dialogue.nlu.spotter import Explanation, Spotted, Spotter

__all__ = ["Explanation", "Spotted", "Spotter", "normalize"]
