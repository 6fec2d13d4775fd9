"""LOG_FORMAT=json: one JSON object per line with the Page and what the line is about (issue 16)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.cli import main
from bot.logs import JsonFormatter, about, shopper_hash


def test_a_json_line_carries_the_page_the_shopper_hash_and_the_event() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("1234"))
    log = logging.getLogger("salebell.test.logs")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        with about(shopper=shopper_hash("u:5551234"), event="mid:m_1"):
            log.warning("handled %s", "it")
            with about(job="dlg:mid:m_1:0"):
                try:
                    raise ValueError("boom")
                except ValueError:
                    log.exception("send failed")
        log.info("outside")
    finally:
        log.removeHandler(handler)
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "handled it" and first["page"] == "1234" and first["event"] == "mid:m_1"
    assert first["shopper"] == shopper_hash("u:5551234") and "5551234" not in json.dumps(first)
    assert second["job"] == "dlg:mid:m_1:0" and second["event"] == "mid:m_1" and "ValueError: boom" in second["error"]
    assert "event" not in third and third["level"] == "INFO"


def test_log_level_and_format_from_the_environment_are_checked(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOG_LEVEL", "loud")
    assert main(["stats"]) == 2 and "--log-level must be one of" in capsys.readouterr().err
    monkeypatch.delenv("LOG_LEVEL")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["stats"]) == 2 and "LOG_FORMAT must be text or json" in capsys.readouterr().err
