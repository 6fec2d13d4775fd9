"""``GET /webhook`` (Meta's verification handshake) and ``POST /webhook`` (signed events).

POST answers 200 only once the raw body is in the Redis inbox stream, after
the signature check on the exact bytes received (DESIGN.md invariant 1):

=============================  ======
signature missing or wrong     403
body over 1 MiB                413
body not complete in time      408 (bot.server.BODY_TIMEOUT)
not JSON / ``object`` other   400 (RFC 8259 in UTF-8, at most 64 levels deep;
                               ``object`` must be ``page`` or ``instagram``)
Redis did not answer           503 (Meta retries)
stored                         200
=============================  ======

Under load the XADDs of concurrent requests share round trips (:class:`InboxWriter`);
each request still answers only after its own XADD reply.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import signature
from .appkeys import METRICS, SETTINGS
from .inbox import BODY
from .json_input import NotJson, load_json
from .page_routing import route_entries
from .parsing import NotPageEvent, check_envelope
from .storage import connections_for

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024

routes = web.RouteTableDef()


class InboxWriter:
    """Group commit of inbox appends over one held connection.

    At low load a batch is one body and nothing waits; under load the bodies that arrive
    during one round trip go out together in the next, in arrival order. The XADDs are
    packed here and written on a connection kept from the pool: a fraction of the cost of
    a redis-py command per body, which was most of the web path's CPU (bench/ingest.py).
    Each caller gets its own XADD reply, so a 200 still means "in the stream" (DESIGN.md
    invariant 1): an error reply fails that body only; a broken connection fails the
    bodies left unanswered, after one retry on a fresh connection if the broken one was
    held from an earlier batch (a body written twice is queued once: the splitter's
    dedupe marks).
    """

    def __init__(self, redis: Redis, stream_key: str, *, max_batch: int = 256,
                 max_batch_bytes: int = MAX_BODY) -> None:
        self._redis = redis
        self._stream_key = stream_key
        self._pool: Any = None  # the client's pool, or the connections of the node owning the stream's slot
        key = stream_key.encode()
        # XADD <key> * b <body>, packed up to the body's length prefix
        self._head = b"*5\r\n$4\r\nXADD\r\n$%d\r\n%s\r\n$1\r\n*\r\n$%d\r\n%s\r\n" % (
            len(key), key, len(BODY), BODY)
        self._max_batch = max_batch
        self._max_batch_bytes = max_batch_bytes
        self._conn: AbstractConnection | None = None
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def append(self, body: bytes) -> None:
        """Return once ``body`` is in the inbox stream; raise what Redis raised otherwise."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((body, done))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="inbox-writer")
        await done

    async def aclose(self) -> None:
        """Let the batch in flight finish, then give the held connection back to the pool (app cleanup)."""
        if self._flusher is not None:
            await asyncio.wait([self._flusher], timeout=10)
        conn, self._conn = self._conn, None
        if conn is not None and self._pool is not None:
            await self._pool.release(conn)

    async def _flush(self) -> None:
        try:
            while self._waiting:
                n, size = 0, 0
                while n < min(self._max_batch, len(self._waiting)) and (n == 0 or size < self._max_batch_bytes):
                    size += len(self._waiting[n][0])
                    n += 1
                batch = self._waiting[:n]
                del self._waiting[:n]
                await self._write(batch)
        finally:
            self._flusher = None

    async def _write(self, batch: list[tuple[bytes, asyncio.Future[None]]]) -> None:
        answered = 0
        try:
            while True:
                held = self._conn is not None  # held since an earlier batch: Redis may have dropped it since
                try:
                    if self._pool is None:
                        self._pool = connections_for(self._redis, self._stream_key)
                    conn = self._conn or await self._pool.get_connection()
                    self._conn = conn
                    async with asyncio.timeout(conn.socket_timeout):  # one deadline for the batch, not per reply
                        await conn.send_packed_command([self._head + b"$%d\r\n%s\r\n" % (len(body), body)
                                                        for body, _ in batch[answered:]])
                        for _, done in batch[answered:]:
                            try:
                                await conn.read_response(timeout=math.inf)
                            except ResponseError as exc:  # an error reply is read whole: the stream stays in step
                                _settle(done, exc)
                            else:
                                _settle(done, None)
                            answered += 1
                    return
                except (RedisTimeoutError, TimeoutError):
                    raise  # Redis is slow or silent: waiting as long again would not help
                except (RedisConnectionError, OSError):
                    await self._drop()
                    if not held:
                        raise  # a fresh connection failed: Redis is down, no second try
        except Exception as exc:  # the bodies not answered share the failure: none is acknowledged
            await self._drop()
            for _, done in batch[answered:]:
                _settle(done, exc)
        except BaseException:
            await self._drop()
            for _, done in batch[answered:]:
                done.cancel()
            raise

    async def _drop(self) -> None:
        """Forget the held connection: replies may be half read, so the next batch starts afresh."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.disconnect(nowait=True)
            await self._pool.release(conn)
        self._pool = None  # a cluster's slot may have moved: ask again which node owns it


def _settle(done: asyncio.Future[None], error: Exception | None) -> None:
    if done.done():  # the request went away meanwhile
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


INBOX_WRITERS = web.AppKey("inbox_writers", dict[str, InboxWriter])


def install_inbox_writers(app: web.Application, inboxes: dict[str, tuple[Redis, str]]) -> None:
    """Give ``app`` a writer per served Page (page id -> its Redis and inbox stream), in the order of the
    Pages (the first takes what belongs to no Page: :func:`bot.page_routing.route_entries`), closed with the app."""
    writers = app[INBOX_WRITERS] = {page_id: InboxWriter(redis, key) for page_id, (redis, key) in inboxes.items()}

    async def close(app: web.Application) -> None:
        await asyncio.gather(*(writer.aclose() for writer in writers.values()))

    app.on_cleanup.append(close)


@routes.get("/webhook")
async def verify_subscription(request: web.Request) -> web.Response:
    """Echo ``hub.challenge`` when the mode is subscribe and the verify token matches."""
    settings = request.app[SETTINGS]
    mode = request.query.get("hub.mode", "")
    token = request.query.get("hub.verify_token", "")
    challenge = request.query.get("hub.challenge", "")
    expected = settings.verify_token.reveal()
    if mode == "subscribe" and hmac.compare_digest(token.encode(), expected.encode()):
        return web.Response(text=challenge, content_type="text/plain")
    log.warning("webhook verification refused (mode=%r, token %s)", mode, "missing" if not token else "wrong")
    return web.Response(status=403, text="verification failed")


@routes.post("/webhook")
async def receive_events(request: web.Request) -> web.Response:
    response = await _receive(request)
    request.app[METRICS].webhook_requests.labels(str(response.status)).inc()
    return response


async def _receive(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_BODY:
        log.warning("webhook refused: body of %d bytes is over the 1 MiB limit", request.content_length)
        return _error(413, "body over 1 MiB")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        log.warning("webhook refused: body over the 1 MiB limit")
        return _error(413, "body over 1 MiB")
    except web.HTTPRequestTimeout:  # bot.server's body deadline: the client sent less than its Content-Length
        log.warning("webhook refused: body not complete in time")
        response = _error(408, "body not complete in time")
        response.force_close()
        return response
    settings = request.app[SETTINGS]
    header = request.headers.get(signature.HEADER)
    if not signature.is_valid(settings.app_secret.reveal(), raw, header):
        log.warning("webhook refused: X-Hub-Signature-256 %s", "missing" if not header else "does not match")
        return _error(403, "bad signature")
    try:
        envelope = load_json(raw)
        entries = check_envelope(envelope)
    except NotJson as exc:
        log.warning("webhook refused: body is not JSON (%s)", exc)
        return _error(400, "body is not JSON")
    except NotPageEvent as exc:
        log.warning("webhook refused: %s", exc)
        return _error(400, str(exc))
    writers = request.app[INBOX_WRITERS]
    if len(writers) > 1:
        linked = {p.instagram_account_id: p.page_id for p in settings.pages if p.instagram_account_id}
        bodies = route_entries(raw, entries, list(writers), linked, envelope["object"])
    else:
        bodies = {next(iter(writers)): raw}
    try:
        if len(bodies) == 1:
            [(page_id, body)] = bodies.items()
            await writers[page_id].append(body)
        else:  # all or nothing for Meta: a 503 has the whole body retried, and the dedupe marks drop repeats
            results = await asyncio.gather(*(writers[p].append(b) for p, b in bodies.items()), return_exceptions=True)
            for result in results:
                if isinstance(result, BaseException):
                    raise result
    except (RedisError, OSError) as exc:
        log.error("webhook not stored, answering 503 so Meta retries: Redis %s", type(exc).__name__)
        return _error(503, "storage unavailable, retry later")
    return web.Response(text="EVENT_RECEIVED")


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)
