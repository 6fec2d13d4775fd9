"""Log set-up: ``--log-level`` (or ``LOG_LEVEL``), and ``LOG_FORMAT=json`` for log collectors.

``json`` writes one JSON object per line: ``ts``, ``level``, ``logger``, ``message``, the Page,
and what the line is about when the runtime knows it — ``shopper`` (a hash of the PSID, never the
PSID itself), ``event`` (its dedupe key) or ``job`` (a send job's id) — plus ``error`` with the
traceback of an exception. ``text`` (the default) is the usual one-line format. The context comes
from :func:`about`, which the consumer and the send worker set around each event and job.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_about: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("salebell_log_about", default={})


def shopper_hash(psid: str) -> str:
    """What a log line says of a shopper: enough to follow one, not their PSID."""
    return hashlib.blake2b(psid.encode(), digest_size=6).hexdigest()


@contextmanager
def about(**fields: str) -> Iterator[None]:
    """Lines logged inside the block (in this task) carry ``fields`` in the JSON format."""
    token = _about.set({**_about.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _about.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, page_id: str) -> None:
        super().__init__()
        self._page = page_id

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage(), "page": self._page,
            **_about.get(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str, fmt: str, page_id: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(page_id) if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])  # a no-op where logging is set up already (tests)
