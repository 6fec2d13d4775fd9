"""A plugin that declares a service its (missing) setup never registers: start-up must refuse it."""

from bot.plugins import Plugin
from bot.ports import LINKED_POSTS

plugin = Plugin(name="boaster", provides=(LINKED_POSTS,))
