"""bot.fast_json (issue 10): orjson on the hot paths, the standard library for what orjson refuses, and the
same values back either way; a send job survives the trip through Redis's JSON whatever its message holds."""

from __future__ import annotations

import json

from bot import fast_json
from bot.send_jobs import SendJob


def test_what_orjson_writes_reads_back_as_the_standard_library_reads_it() -> None:
    value = {"text": "Ñam ✨ 🛍️ \u001f metadata \"quoted\" \\ /", "n": [1, 2.5, -3, None, True], "nested": {"a": {}}}
    text = fast_json.dumps(value)
    assert json.loads(text) == value == fast_json.loads(text) == fast_json.loads(text.encode())
    assert text == json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # compact, UTF-8


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    wide = {"id": 2 ** 70, "ids": [-(2 ** 65)]}  # wider than 64 bits: orjson raises, json writes it
    assert fast_json.loads(fast_json.dumps(wide)) == wide
    keyed = {1: "one", "two": 2}  # a key that is not a string: json makes it one
    assert fast_json.loads(fast_json.dumps(keyed)) == {"1": "one", "two": 2}


def test_a_send_job_round_trips_with_any_message() -> None:
    message = {"text": "Live now: ¡ofertas! 🎉", "quick_replies": [{"content_type": "text", "title": "Sí",
                                                                   "payload": "YES"}], "metadata": "\x1fsb:1"}
    job = SendJob(id="j1", purpose="notification", message=message, psid="1234567890123456", topic="live",
                  title="Live sales", extra={"order": 2 ** 70})
    again = SendJob.from_json(job.to_json())
    assert again == job and again.extra["order"] == 2 ** 70
