"""The CLI's side of the admin API: where it is, which token, one JSON call, a streamed download,
following a fan-out. Every plugin's host commands talk to the served API through it.

URL: ``--url``, else ``SALEBELL_API_URL``, else ``http://127.0.0.1:$PORT``.
Token: ``--token``, else ``ADMIN_TOKEN``, else (sandbox) the ``admin-token`` file
that ``salebell serve`` writes in the data dir (``.salebell/``). The token is sent
in the Authorization header only, never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from .errors import SalebellError
from .settings import Settings

FOLLOW_INTERVAL = 0.2


class CliError(SalebellError):
    """The admin API refused (``status``) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--token`` and ``--page`` of a command that talks to the admin API."""
    parser.add_argument("--url", help="admin API base URL (default: SALEBELL_API_URL or http://127.0.0.1:$PORT)")
    parser.add_argument("--token", help="admin token (default: ADMIN_TOKEN or .salebell/admin-token)")
    parser.add_argument("--page", default="", help="the Page to act on, by id (needed when the bot serves several)")


def client_for(session: aiohttp.ClientSession, args: argparse.Namespace, settings: Settings) -> AdminClient:
    """The admin client a command's ``--url``/``--token``/``--page`` (and the environment) name."""
    return AdminClient(session, api_url(args.url, settings), admin_token(args.token, settings),
                       page=args.page)


def api_url(flag: str | None, settings: Settings) -> str:
    return (flag or settings.admin_api_url or f"http://127.0.0.1:{settings.port}").rstrip("/")


def admin_token(flag: str | None, settings: Settings) -> str:
    if flag:
        return flag
    if not settings.admin_token_generated:
        return settings.admin_token.reveal()
    path = Path(settings.data_dir) / "admin-token"
    if path.is_file() and path.read_text().strip():
        return path.read_text().strip()
    raise CliError(0, "no admin token: set ADMIN_TOKEN, pass --token, or run `salebell serve` (sandbox) here first")


class AdminClient:
    """JSON calls to the admin API with the bearer token."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str, *, page: str = "") -> None:
        self._session = session
        self._base = base
        self._headers = {"Authorization": f"Bearer {token}", "X-Salebell-Client": "cli"}
        self._page = page

    def _url(self, path: str) -> str:
        """``path`` under the base URL, for the chosen Page (``?page=``) if one was named."""
        if not self._page:
            return self._base + path
        return self._base + path + ("&" if "?" in path else "?") + urlencode({"page": self._page})

    async def call(self, method: str, path: str, body: Any = None, *, data: bytes | None = None,
                   content_type: str = "") -> Any:
        """A JSON ``body``, or raw ``data`` of ``content_type`` (a CSV upload); the JSON answer."""
        headers = {**self._headers, **({"Content-Type": content_type} if content_type else {})}
        payload: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        try:
            async with self._session.request(method, self._url(path), headers=headers, **payload) as resp:
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = None
                if resp.status >= 400:
                    raise _refusal(resp, answer)
                return answer
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None

    async def download(self, path: str, write: Callable[[bytes], object]) -> None:
        """GET ``path`` and hand its body to ``write`` as it arrives (a CSV export of any size)."""
        try:
            async with self._session.get(self._url(path), headers=self._headers) as resp:
                if resp.status >= 400:
                    try:
                        answer = await resp.json(content_type=None)
                    except ValueError:
                        answer = None
                    raise _refusal(resp, answer)
                async for chunk in resp.content.iter_chunked(65536):
                    write(chunk)
        except aiohttp.ClientError as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: aiohttp.ClientError) -> CliError:
        return CliError(0, f"cannot reach the admin API at {self._base} ({type(exc).__name__})")

    async def follow(self, path: str, show: Callable[[dict[str, Any]], None], timeout: float = 0) -> dict[str, Any]:
        """Poll a sale or blast until its fan-out is complete (or ``timeout`` s pass); returns the last view."""
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            view: dict[str, Any] = await self.call("GET", path)
            show(view)
            if view["fanout"].get("complete") or view["fanout"]["state"] == "none":
                return view
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(0, f"still sending after {timeout:g}s; `salebell live show` tells the rest")
            await asyncio.sleep(FOLLOW_INTERVAL)


def _refusal(resp: aiohttp.ClientResponse, answer: Any) -> CliError:
    """The API's ``{"error": {"message"}}`` answer as a CliError with its status."""
    error = (answer or {}).get("error", {}) if isinstance(answer, dict) else {}
    return CliError(resp.status, str(error.get("message") or resp.reason))
