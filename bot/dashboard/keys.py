"""The dashboard's Redis keys, built in one place.

Dashboard sessions belong to the deployment, not to a Page: one host signs in once
and may manage every Page the deployment serves. So they live under their own
prefix with a hash tag of their own, ``sb:{deployment}:``, apart from the Pages'
``sb:{<page id>}:`` keys (bot/keys.py); on Redis Cluster all sessions share one slot.
"""

from __future__ import annotations

DEPLOYMENT_PREFIX = "sb:{deployment}:"


def session_key(digest: str) -> str:
    """HASH ``csrf``, ``created_ms``, ``token_fp`` of one signed-in browser, with a TTL (the session's life).

    ``digest`` is the SHA-256 of the session id in the cookie, never the id itself, so a
    copy of Redis holds no cookie anyone could replay.
    """
    return DEPLOYMENT_PREFIX + "session:" + digest
