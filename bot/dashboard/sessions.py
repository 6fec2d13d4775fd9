"""Dashboard sessions: a signed-in browser holds a random id in an HttpOnly cookie; Redis holds the rest.

A session is created by signing in with the admin token (:mod:`bot.dashboard.routes`)
and lasts :data:`SESSION_SECONDS` from then (not extended by use), or until sign-out
deletes it. It carries a CSRF token that every state-changing admin API call made with
the cookie must echo in the ``X-CSRF-Token`` header (checked in :mod:`bot.admin`), and a
fingerprint of the admin token it was opened with, so changing ``ADMIN_TOKEN`` ends
every open session.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis

from ..replies import text as _text
from ..secret import Secret
from .keys import session_key

COOKIE = "salebell_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 12 * 3600  # a sale evening; then sign in again
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def token_fingerprint(admin_token: Secret) -> str:
    """A keyed digest of the admin token: it tells whether the token changed without storing it."""
    return hmac.new(admin_token.reveal().encode(), b"salebell dashboard session", hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Session:
    """One signed-in browser (the id stays in the cookie; only its digest is a key)."""

    digest: str
    csrf: str
    created_ms: int

    def csrf_matches(self, offered: str | None) -> bool:
        """Constant-time comparison with the token a request offers."""
        if not offered:
            return False
        try:
            return hmac.compare_digest(offered.encode("utf-8", "surrogateescape"), self.csrf.encode())
        except UnicodeEncodeError:
            return False


class SessionStore:
    """Creates, finds and deletes dashboard sessions in Redis."""

    def __init__(self, redis: Redis, admin_token: Secret, *, ttl_seconds: int = SESSION_SECONDS) -> None:
        self._redis = redis
        self._fingerprint = token_fingerprint(admin_token)
        self.ttl_seconds = ttl_seconds

    async def create(self) -> tuple[str, Session]:
        """A new session: its id (for the cookie only) and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(_digest(session_id), secrets.token_urlsafe(32), int(time.time() * 1000))
        key = session_key(session.digest)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"csrf": session.csrf, "created_ms": session.created_ms,
                                    "token_fp": self._fingerprint})
            pipe.expire(key, self.ttl_seconds)
            await pipe.execute()
        return session_id, session

    async def find(self, session_id: str | None) -> Session | None:
        """The live session of this id, or None (unknown, expired, signed out, or opened with another token)."""
        if not session_id or not _SESSION_ID.match(session_id):
            return None
        digest = _digest(session_id)
        csrf, created, fingerprint = await self._redis.hmget(session_key(digest), ["csrf", "created_ms", "token_fp"])
        if csrf is None or fingerprint is None:
            return None
        if not hmac.compare_digest(_text(fingerprint).encode(), self._fingerprint.encode()):
            return None
        return Session(digest, _text(csrf), int(_text(created or b"0")))

    async def delete(self, session: Session) -> None:
        await self._redis.delete(session_key(session.digest))


SESSIONS = web.AppKey("dashboard_sessions", SessionStore)


async def session_of(request: web.Request) -> Session | None:
    """The request's dashboard session (from its cookie), or None. Redis errors propagate (a 503, not a 401)."""
    store = request.app.get(SESSIONS)
    cookie = request.cookies.get(COOKIE)
    if store is None or not cookie:
        return None
    return await store.find(cookie)


def has_session_cookie(request: web.Request) -> bool:
    return bool(request.cookies.get(COOKIE))


def set_cookie(response: web.StreamResponse, request: web.Request, session_id: str, *, secure: bool,
               max_age: int) -> None:
    """HttpOnly, SameSite=Strict, Path=/; Secure outside sandbox mode or over https."""
    response.set_cookie(COOKIE, session_id, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=secure or request.secure)


def clear_cookie(response: web.StreamResponse, request: web.Request, *, secure: bool) -> None:
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=secure or request.secure)
