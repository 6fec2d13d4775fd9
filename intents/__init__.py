"""Built-in intents, one module each: a module-level ``INTENT = Intent(...)``.

Add a file here to add an intent; :func:`dialogue.intent.discover` finds it. ``none`` is the
spotter's fallback, not an intent file.
"""
