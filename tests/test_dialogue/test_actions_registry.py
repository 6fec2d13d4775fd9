"""rasa-sdk actions of the intents, registered once each (issue 16: 21 "Registered function" lines at start-up)."""

from __future__ import annotations

import logging

import pytest

from dialogue.actions import LocalActions, load_intents


def test_each_action_is_registered_once(caplog: pytest.LogCaptureFixture) -> None:
    intents = load_intents(("intents",))
    with caplog.at_level(logging.INFO, logger="rasa_sdk"):
        actions = LocalActions(("intents",), intents)
    registered = [r.getMessage() for r in caplog.records if "Registered function for" in r.getMessage()]
    names = {i.action().name() for i in intents if i.action is not None}
    assert names and len(registered) == len(set(registered)) >= len(names)
    assert all(actions.has(name) for name in names)
