"""A test hook: answer the next N Graph send calls with a chosen error or usage header.

``POST /sandbox/config {"fault": {...}}`` arms a one-shot fault (see :func:`parse_fault`);
each ``POST …/messages`` call takes one use of the fault for its recipient (or of the
fault for any recipient, ``"psid": "*"``) before anything else is checked. A fault with a
``code`` (or an HTTP ``status`` of 400 and above) answers with that error and sends
nothing; one without answers as usual but carries the ``usage`` header given. It exists
so the bot's throttling and usage handling can be tested over real HTTP; it models no
rule of Meta's and is off unless armed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ..keys import Keys
from ..scripts import register_script
from .errors import BadRequest
from .keys import SandboxKeys

ANY = "*"

QUIET_SECONDS = 0.5  # with nothing armed, a process looks again after this long (other processes' arms)

# KEYS: the faults (target -> JSON), their remaining uses (target -> n). ARGV: the recipient.
# Returns the fault's JSON, false (armed for other recipients only) or 0 (nothing armed at all).
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for _, target in ipairs({ARGV[1], '*'}) do
  if target ~= '' and redis.call('HEXISTS', KEYS[2], target) == 1 then
    if redis.call('HINCRBY', KEYS[2], target, -1) <= 0 then redis.call('HDEL', KEYS[2], target) end
    return redis.call('HGET', KEYS[1], target)
  end
end
return false
"""


@dataclass(frozen=True, slots=True)
class Fault:
    """What an armed fault answers: an error (``code`` and/or ``status`` >= 400) or a usage header."""

    code: int | None = None
    subcode: int | None = None
    status: int = 200
    usage: str = ""  # the X-Business-Use-Case-Usage header value, '' for none
    lose_answer: bool = False  # send as usual, then drop the connection: the answer never reaches the bot

    @property
    def refuses(self) -> bool:
        return self.code is not None or self.status >= 400

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"message": f"(#{self.code}) sandbox fault" if self.code else f"HTTP {self.status}",
                                 "type": "OAuthException", "fbtrace_id": fbtrace_id}
        if self.code is not None:
            error["code"] = self.code
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def parse_fault(raw: Any) -> tuple[str, int, Fault]:
    """``{calls, code?, subcode?, status?, usage?, psid?, lose_answer?}`` -> (target, calls, fault); 400 on a bad
    field. ``lose_answer``: the message is sent, then the connection is dropped before the answer.

    ``calls`` 0 disarms; ``status`` defaults to 400 with a code, else 200; ``usage`` is a JSON
    object (or its text) for X-Business-Use-Case-Usage; ``psid`` (default any) limits it to sends to one PSID.
    """
    if not isinstance(raw, dict):
        raise BadRequest("fault must be an object")
    unknown = set(raw) - {"calls", "code", "subcode", "status", "usage", "psid", "lose_answer"}
    if unknown:
        raise BadRequest(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    calls, code, subcode = raw.get("calls"), raw.get("code"), raw.get("subcode")
    if not _whole(calls):
        raise BadRequest("fault.calls must be a whole number >= 0")
    for name, value in (("code", code), ("subcode", subcode)):
        if value is not None and not _whole(value):
            raise BadRequest(f"fault.{name} must be a whole number")
    status = raw.get("status", 400 if code is not None else 200)
    if not _whole(status) or not 200 <= status <= 599:
        raise BadRequest("fault.status must be an HTTP status")
    usage = raw.get("usage", "")
    if isinstance(usage, dict):
        usage = json.dumps(usage, separators=(",", ":"))
    if not isinstance(usage, str):
        raise BadRequest("fault.usage must be a JSON object or its text")
    target = raw.get("psid", ANY)
    if not isinstance(target, str) or not target:
        raise BadRequest("fault.psid must be a PSID or '*'")
    lose = raw.get("lose_answer", False)
    if not isinstance(lose, bool):
        raise BadRequest("fault.lose_answer must be true or false")
    return target, int(calls or 0), Fault(code, subcode, status, usage, lose)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class Faults:
    """Armed faults of one Page, in Redis (so every sandbox process sees them).

    With nothing armed a send costs no Redis call: the process looks again after
    ``QUIET_SECONDS`` (at once after an arm of its own), so the hook never slows a benchmark.
    """

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        sandbox = SandboxKeys.of(keys)
        self._keys = [sandbox.sandbox_faults, sandbox.sandbox_fault_calls]
        self._take = register_script(redis, _TAKE)
        self._quiet_until = 0.0

    async def arm(self, target: str, calls: int, fault: Fault) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys[0], target, json.dumps(
                {"code": fault.code, "subcode": fault.subcode, "status": fault.status, "usage": fault.usage,
                 "lose_answer": fault.lose_answer}))
            if calls > 0:
                pipe.hset(self._keys[1], target, calls)
            else:
                pipe.hdel(self._keys[1], target)
            await pipe.execute()
        self._quiet_until = 0.0

    async def take(self, recipient: str) -> Fault | None:
        """One use of the fault armed for ``recipient`` (else for any), or None."""
        if time.monotonic() < self._quiet_until:
            return None
        raw = await self._take(keys=self._keys, args=[recipient])
        if raw == 0:
            self._quiet_until = time.monotonic() + QUIET_SECONDS
        if not raw:
            return None
        return Fault(**json.loads(raw))
