"""``salebell.testing`` in a shop's own project: its intent tested against the whole bot in sandbox mode.

The project is written into a temporary folder (an intents package with the README's size-chart intent,
a conftest naming the plugin, one test) and its own pytest runs there, outside this repository's tests,
on the embedded Redis (no ``REDIS_URL``), as a shop that only installed salebell would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SIZE_CHART = '''"""Size chart: the shopper asks for the size guide."""
from typing import Any
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from dialogue.intent import Intent

class ActionSizeChart(Action):
    def name(self) -> str:
        return "action_size_chart"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Here's our size chart 📏 S: 34-36 · M: 37-39 · L: 40-42",
                                 buttons=[{"title": "Full size guide", "url": "https://shop.example/sizes"}])
        return [SlotSet("asked_size_chart", True)]

INTENT = Intent(name="size_chart", keywords=("size chart", "size guide"), patterns=(r"\\bsize (?:chart|guide)\\b",),
                examples=("may size chart po ba?",), languages=("en", "tl"), action=ActionSizeChart)
'''

CONFTEST = '''import pytest

pytest_plugins = ["salebell.testing"]


@pytest.fixture
def salebell_overrides():
    return {"intents_packages": ("intents", "shop_intents")}
'''

TEST = '''async def test_the_size_chart_is_answered(salebell_bot):
    psid = await salebell_bot.shopper("Ana")
    replies = await salebell_bot.chat(psid, "may size chart po ba?")
    assert salebell_bot.texts(replies) == ["Here's our size chart 📏 S: 34-36 · M: 37-39 · L: 40-42"]


async def test_the_built_ins_still_answer(salebell_bot):
    psid = await salebell_bot.shopper("Bo")
    replies = await salebell_bot.chat(psid, "LIVE")
    assert replies[0]["message"]["attachment"]["payload"]["template_type"] == "notification_messages"
'''


def test_a_shops_own_project_tests_its_intent_with_salebell_testing(tmp_path: Path) -> None:
    (tmp_path / "shop_intents").mkdir()
    (tmp_path / "shop_intents" / "__init__.py").write_text("")
    (tmp_path / "shop_intents" / "size_chart.py").write_text(SIZE_CHART)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_shop.py").write_text(TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONPATH")}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout
