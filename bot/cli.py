"""The ``salebell`` command: serve, worker, and the tools built on them."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError

from . import logs
from .app import create_app
from .errors import ConfigError
from .pages import Pages
from .plugins import resolve_plugins
from .server import Timeouts, listen, serving
from .settings import Settings
from .settings_env import plugin_names
from .storage import answers, open_redis

log = logging.getLogger("salebell")

Command = Callable[[argparse.Namespace, Settings], int]
_COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def command(name: str, help_: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None
            ) -> Callable[[Command], Command]:
    """Register a sub-command (other modules add theirs the same way)."""

    def register(fn: Command) -> Command:
        _COMMANDS[name] = (fn, arguments, help_)
        return fn

    return register


def main(argv: Sequence[str] | None = None) -> int:
    try:  # plugins add their sub-commands when imported
        resolve_plugins(_plugin_names())
    except ConfigError as exc:
        print(f"salebell: configuration error: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="salebell", description="Messenger bot for live sales")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL") or "INFO",
                        help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default: LOG_LEVEL or INFO)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, arguments, help_) in _COMMANDS.items():
        arguments(sub.add_parser(name, help=help_, description=help_))
    args = parser.parse_args(argv)
    level = args.log_level.upper()
    if level not in LOG_LEVELS:
        print(f"salebell: --log-level must be one of {', '.join(LOG_LEVELS)}, got {args.log_level!r}", file=sys.stderr)
        return 2
    log_format = (os.environ.get("LOG_FORMAT") or "text").lower()
    if log_format not in logs.FORMATS:
        print(f"salebell: LOG_FORMAT must be text or json, got {log_format!r}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"salebell: configuration error: {exc}", file=sys.stderr)
        return 2
    logs.configure(level, log_format, ",".join(settings.page_ids))
    fn = _COMMANDS[args.command][0]
    try:
        return fn(args, settings)
    except ConfigError as exc:  # e.g. a service a plugin needs that no plugin provides
        print(f"salebell: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--web-only", action="store_true",
                        help="no workers in this process (WEB_RUNS_WORKERS=false): the Procfile's web, "
                             "beside `salebell worker` processes")


@command("serve", "Run the web process (webhook, admin API, sandbox) and, by default, workers", _serve_arguments)
def serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.web_only:
        settings = settings.replace(run_workers_in_web=False)
    try:  # before anything starts: a busy port must not leave a hidden worker running (issue 8, finding 11)
        sockets = listen(settings.host, settings.port)
    except ConfigError as exc:
        print(f"salebell: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(settings, sockets))
    finally:
        for sock in sockets:
            sock.close()
    return 0


REDIS_START_SECONDS = 10.0  # how long serve and worker wait for REDIS_URL to answer before giving up


async def _redis_answers(redis: Redis, url: str | None) -> None:
    """ConfigError (exit 2, one line) when Redis gives no PONG within ``REDIS_START_SECONDS``: nothing is
    announced as serving that cannot store a webhook (issue 16)."""
    loop = asyncio.get_running_loop()
    deadline, reason = loop.time() + REDIS_START_SECONDS, ""
    while loop.time() < deadline:
        try:
            await answers(redis)
            return
        except (RedisError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            await asyncio.sleep(0.5)
    where = urlsplit(url).hostname or url if url else "the embedded Redis"
    raise ConfigError(f"Redis ({where}, REDIS_URL) did not answer within {REDIS_START_SECONDS:.0f}s: {reason}; "
                      "start it, or leave REDIS_URL unset in sandbox mode for the embedded one")


async def _serve(settings: Settings, sockets: list[socket.socket]) -> None:
    redis, embedded = await open_redis(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
    try:
        await _redis_answers(redis, settings.redis_url)
        app = create_app(settings, redis, plugins=settings.plugins)
        async with serving(app, sockets, timeouts=Timeouts(idle=settings.http_idle_timeout)):
            _announce(settings, embedded is not None)
            await _wait_for_signal()
    finally:
        await redis.aclose()
        if embedded:
            await embedded.stop()


def _plugin_names() -> list[str]:
    return list(plugin_names(os.environ.get("SALEBELL_PLUGINS")))


def _announce(settings: Settings, embedded: bool) -> None:
    url = f"http://{settings.host}:{settings.port}"
    lines = [f"salebell is serving on {url}"]
    if settings.sandbox:
        lines += [
            "  mode:          sandbox (no Facebook app needed)",
            f"  webhook:       {url}/webhook",
            f"  verify token:  {settings.verify_token.reveal()}",
            f"  sandbox:       {url}/sandbox/",
        ]
        if settings.admin_token_generated:
            lines.append(f"  admin token:   {settings.admin_token.reveal()}  (generated for this run)")
        _save_admin_token(settings)
    lines.append(f"  redis:         {'embedded, data in ' + str(settings.data_dir) if embedded else 'REDIS_URL'}")
    print("\n".join(lines), flush=True)


def _save_admin_token(settings: Settings) -> None:
    """Sandbox only: keep the generated token where the CLI on this machine finds it (mode 0600)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "admin-token"
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # a file left by an older run may be readable by others
    path.write_text(settings.admin_token.reveal())


@command("worker", "Run inbox splitters, event consumers and send workers (no HTTP)")
def worker(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_worker(settings))
    return 0


async def _worker(settings: Settings) -> None:
    redis, embedded = await open_redis(settings.redis_url, settings.data_dir, cluster=settings.redis_cluster)
    try:
        await _redis_answers(redis, settings.redis_url)  # a cluster client meets its nodes here
        served = Pages(settings, redis, role="worker")
        await served.load_plugins(settings.plugins)
        await served.start()
        log.info("worker %s started for Page %s", served.first.consumer.name, ", ".join(served.ids))
        await _wait_for_signal()
        await served.stop()
    finally:
        await redis.aclose()
        if embedded:
            await embedded.stop()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
