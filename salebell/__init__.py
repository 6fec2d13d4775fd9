"""salebell's public helpers for the projects built on it (the runtime itself is :mod:`bot`).

- :mod:`salebell.testing`: pytest fixtures that run the whole bot in sandbox mode, for a shop's own
  intents, actions and plugins.
"""
