"""One Graph API call over one pooled aiohttp session: the auth header, the retries, the error mapping.

The Page token travels only in ``Authorization: Bearer`` (never in a URL, so never in an
access log). Every failure becomes one ``GraphError`` (``error_codes.error_from_response``),
retried per ``retry.graph_retrying`` (built only once a first attempt failed); sends are not
idempotent, so a network error after the request may have left is never retried (a refused
connection is). The endpoints are :class:`bot.graph.client.GraphClient`'s.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp

from .. import fast_json
from ..secret import Secret
from .error_codes import error_from_response
from .errors import GraphError, GraphNetworkError, GraphTransient, SendUncertain
from .retry import Sleep, graph_retrying, should_retry
from .usage import Usage, parse_usage

log = logging.getLogger("bot.graph")


def new_session(*, limit: int = 256, total: float = 10.0, connect: float = 3.0) -> aiohttp.ClientSession:
    """The pooled session a client runs on, sized for fan-out. Call inside a running loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=total, connect=connect),
        raise_for_status=False,
        json_serialize=fast_json.dumps,
    )


class GraphTransport:
    """The session, the Page token and the retry settings a client's calls go through."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        page_token: Secret,
        max_attempts: int,
        max_throttle_wait: float,
        wait_scale: float,
        sleep: Sleep,
        owns_session: bool,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._page_token = page_token
        self._max_attempts = max_attempts
        self._max_throttle_wait = max_throttle_wait
        self._wait_scale = wait_scale
        self._sleep = sleep
        self._owns_session = owns_session
        self.last_usage: Usage = Usage()

    async def close(self) -> None:
        if self._owns_session:
            await self._session.close()

    # --- one call ------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = False,
        token_recipient: bool = False,
        token: Secret | None = None,
    ) -> dict[str, Any]:
        return (await self._request(method, path, body=body, params=params, idempotent=idempotent,
                                    token_recipient=token_recipient, token=token))[0]

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = False,
        token_recipient: bool = False,
        token: Secret | None = None,
        throttles: bool = True,
    ) -> tuple[dict[str, Any], Usage]:
        """One call with its retries; the answer and its usage headers. ``throttles``: retry those inline."""
        call = (method, path, body, params, idempotent, token_recipient, token)
        max_throttle_wait = self._max_throttle_wait if throttles else -1.0
        try:
            try:  # most calls succeed at once: no retry machinery for them (it cost more than the call)
                return await self._once(*call)
            except GraphError as exc:
                if self._max_attempts <= 1 or not should_retry(exc, idempotent=idempotent,
                                                               max_throttle_wait=max_throttle_wait):
                    raise
                first_failure: list[GraphError] = [exc]
            retrying = graph_retrying(
                self._max_attempts,
                max_throttle_wait,
                idempotent=idempotent,
                wait_scale=self._wait_scale,
                sleep=self._sleep,
            )
            async for attempt in retrying:
                with attempt:
                    if first_failure:  # tenacity's attempt 1 is the one above: it plans the wait from it
                        raise first_failure.pop()
                    return await self._once(*call)
        except GraphError as exc:
            log.warning(
                "graph %s %s failed: reason=%s code=%s subcode=%s fbtrace_id=%s http_status=%s",
                method,
                path,
                exc.reason,
                exc.code,
                exc.subcode,
                exc.fbtrace_id,
                exc.http_status,
            )
            raise
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _once(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
        idempotent: bool,
        token_recipient: bool,
        token: Secret | None,
    ) -> tuple[dict[str, Any], Usage]:
        headers = {"Authorization": f"Bearer {(token or self._page_token).reveal()}"}
        try:
            async with self._session.request(
                method, f"{self._base}/{path}", json=body, params=params, headers=headers
            ) as resp:
                status, answer_headers = resp.status, resp.headers
                raw_answer = await resp.read()
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS: nothing left our side
            raise GraphNetworkError(f"cannot connect: {type(exc).__name__}", sent_maybe=False) from None
        except aiohttp.ConnectionTimeoutError:
            raise GraphNetworkError("connect timeout", sent_maybe=False) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise GraphNetworkError(f"no answer: {type(exc).__name__}", sent_maybe=True) from None
        usage = self.last_usage = parse_usage(answer_headers)
        try:
            answer = json.loads(raw_answer) if raw_answer else None
        except ValueError:
            answer = None
        if 200 <= status < 300 and isinstance(answer, dict) and "error" not in answer:
            return answer, usage
        if 200 <= status < 300 and not isinstance(answer, dict):
            cls = GraphTransient if idempotent else SendUncertain
            raise cls("unreadable reply", http_status=status)
        error_body = answer if isinstance(answer, dict) else None
        raise error_from_response(status, error_body, answer_headers, token_recipient=token_recipient)

