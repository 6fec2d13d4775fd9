"""What a scenario drives the deployment with: Meta's shopper API, the admin API, the stand-in's faults.

One :class:`FaultClient` per scenario (it lives in the scenario's event loop); :meth:`reset` puts
the shared deployment back to a fresh Page: the stand-in without faults, the sandbox emptied and
configured, the bot's Redis flushed and two fresh worker processes.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, cast

import aiohttp
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from bot.consent import Subscription
from bot.sandbox.keys import SandboxKeys
from bot.settings import SANDBOX_APP_SECRET
from bot.signature import sign
from live_sales.keys import SaleKeys
from tests.faults.deployment import ADMIN_TOKEN, Deployment
from tests.faults.history import ACK, history_key, reruns_key

TOPIC = "daily_reminders"
OPTIN_TITLE = "Get daily reminders"
DAY_MS = 86_400_000
SEED_CHUNK = 2000
# Meta retries a webhook for hours; the sandbox, for the suite, for this long (bot/sandbox/webhooks.py).
WEBHOOK_RETRY_SECONDS = 60
SANDBOX_CONFIG: dict[str, Any] = {"page_rate_limit": 0, "webhook_retry_seconds": WEBHOOK_RETRY_SECONDS,
                                  "receipts": True, "read_receipts": False, "echoes": True, "echo_delay_ms": 0,
                                  "sent_log": False}


def harness_redis(url: str, cluster: bool = False) -> Redis:
    """The scenario's own client: a restarted server (a scenario's doing) must not fail the harness's reads."""
    if cluster:
        return cast(Redis, RedisCluster.from_url(url, socket_timeout=5, socket_connect_timeout=2))
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, retry_on_error=[
        ConnectionError, TimeoutError, BusyLoadingError], retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 8))


class FaultClient:
    """HTTP and Redis access to one deployment from a scenario."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.keys = dep.keys
        self.sandbox_keys = SandboxKeys.of(dep.keys)
        self.sale_keys = SaleKeys.of(dep.keys)
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_RETRY_SECONDS + 30),
                                          connector=aiohttp.TCPConnector(limit=1000))
        self.bot_redis = harness_redis(dep.bot_redis.url, dep.cluster)
        self.meta_redis = harness_redis(dep.meta_redis_url)

    async def close(self) -> None:
        await self.http.close()
        await self.bot_redis.aclose()
        await self.meta_redis.aclose()

    # -- between scenarios ---------------------------------------------------------
    async def reset(self, sandbox: dict[str, Any] | None = None, workers: dict[str, str] | None = None) -> None:
        """A fresh Page on the same processes: no faults, empty sandbox and Redis, fresh workers (and a
        fresh web process if the bot's Redis restarted under the old one)."""
        await self.control("clear")
        await asyncio.to_thread(self.dep.stop_workers)
        if not self.dep.bot_redis.running:
            await asyncio.to_thread(self.dep.bot_redis.start)
        await self.bot_redis.flushall()
        await self.meta("POST", "/sandbox/reset")
        await self.configure(**{**SANDBOX_CONFIG, **(sandbox or {})})
        self.dep.start_workers(2, workers)
        await asyncio.to_thread(self.dep.restart_web_if_redis_restarted)
        await asyncio.to_thread(self.dep.wait_workers)
        self.dep.mark_logs()

    # -- Meta: the sandbox ----------------------------------------------------------
    async def meta(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.dep.sandbox_url + path, json=body) as resp:
            answer = await resp.json()
            if resp.status >= 400:
                raise AssertionError(f"sandbox {method} {path}: {resp.status} {answer}")
            return answer

    async def configure(self, **settings: Any) -> dict[str, Any]:
        return dict(await self.meta("POST", "/sandbox/config", settings))

    async def shopper(self, name: str = "Ana", channel: str = "messenger") -> str:
        """A new sandbox shopper: a PSID, or with ``channel="instagram"`` an IGSID (their webhooks are
        ``object: instagram``, their replies go through the Instagram endpoint)."""
        return str((await self.meta("POST", "/sandbox/shoppers", {"name": name, "channel": channel}))["psid"])

    async def says(self, psid: str, text: str) -> dict[str, Any]:
        """The shopper sends ``text``; the answer has ``webhook_status`` (200: our webhook accepted it)."""
        return dict(await self.meta("POST", f"/sandbox/shoppers/{psid}/messages", {"text": text}))

    async def inbox(self, psid: str) -> list[dict[str, Any]]:
        return list((await self.meta("GET", f"/sandbox/shoppers/{psid}/inbox"))["messages"])

    async def acks(self, psid: str) -> list[tuple[int, int]]:
        """``(N, timestamp ms)`` of every ``ack N`` the shopper received, in arrival order."""
        found = []
        for message in await self.inbox(psid):
            match = ACK.match(str(message.get("message", {}).get("text") or ""))
            if match:
                found.append((int(match[1]), int(message["timestamp"])))
        return found

    async def acks_of(self, psids: list[str]) -> dict[str, list[tuple[int, int]]]:
        """:meth:`acks` of many shoppers at once, read from the same records in Meta's Redis."""
        found: dict[str, list[tuple[int, int]]] = {}
        for start in range(0, len(psids), SEED_CHUNK):
            chunk = psids[start:start + SEED_CHUNK]
            async with self.meta_redis.pipeline(transaction=False) as pipe:
                for psid in chunk:
                    pipe.lrange(self.sandbox_keys.sandbox_inbox(psid), 0, -1)
                for psid, rows in zip(chunk, await pipe.execute()):
                    acks = []
                    for row in rows:
                        message = json.loads(row)
                        match = ACK.match(str(message.get("message", {}).get("text") or ""))
                        if match:
                            acks.append((int(match[1]), int(message["timestamp"])))
                    found[psid] = acks
        return found

    async def inbox_lengths(self, psids: list[str]) -> dict[str, int]:
        """How many messages each shopper received (read from the sandbox's records in Meta's Redis)."""
        counts: dict[str, int] = {}
        for start in range(0, len(psids), SEED_CHUNK):
            chunk = psids[start:start + SEED_CHUNK]
            async with self.meta_redis.pipeline(transaction=False) as pipe:
                for psid in chunk:
                    pipe.llen(self.sandbox_keys.sandbox_inbox(psid))
                counts.update(zip(chunk, map(int, await pipe.execute())))
        return counts

    async def seed_comments(self, post_id: str, comments: list[tuple[str, str, int]]) -> None:
        """Meta's records of ``(comment id, commenter psid, created ms)`` comments on the post (as the sandbox's
        comment call writes them, without its webhook), so its Graph API takes each one's private reply."""
        for start in range(0, len(comments), SEED_CHUNK):
            async with self.meta_redis.pipeline(transaction=False) as pipe:
                for comment_id, psid, created_ms in comments[start:start + SEED_CHUNK]:
                    pipe.hset(self.sandbox_keys.sandbox_comment(comment_id), mapping={
                        "psid": psid, "post_id": post_id, "created_ms": created_ms})
                await pipe.execute()

    # -- the bot --------------------------------------------------------------------
    async def webhook(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        """POST a webhook body to the bot, signed with the app secret as Meta does (or with ``headers`` as
        given: a wrong signature); the bot's status, 0 when it did not answer."""
        if headers is None:
            headers = {"X-Hub-Signature-256": sign(SANDBOX_APP_SECRET, body), "Content-Type": "application/json"}
        try:
            async with self.http.post(self.dep.web_url + "/webhook", data=body, headers=headers) as resp:
                await resp.read()
                return resp.status
        except aiohttp.ClientError:
            return 0

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with self.http.request(method, self.dep.web_url + path, json=body, headers=headers) as resp:
            answer = await resp.json()
            if resp.status >= 400:
                raise AssertionError(f"admin {method} {path}: {resp.status} {answer}")
            return answer

    async def api_status(self, method: str, path: str) -> int:
        """Only the status of an admin call (0: no answer)."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        try:
            async with self.http.request(method, self.dep.web_url + path, headers=headers) as resp:
                await resp.read()
                return resp.status
        except aiohttp.ClientError:
            return 0

    async def healthz(self) -> tuple[int, str]:
        try:
            async with self.http.get(self.dep.web_url + "/healthz",
                                     timeout=aiohttp.ClientTimeout(total=10)) as resp:
                return resp.status, await resp.text()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return 0, type(exc).__name__

    async def metrics(self) -> dict[str, float]:
        """``/metrics`` as ``{'name{labels}': value}``, summed over the Pages (the ``page`` label left out)."""
        async with self.http.get(self.dep.web_url + "/metrics") as resp:
            text = await resp.text()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                name = re.sub(r'page="[^"]*",?', "", name).replace(",}", "}").replace("{}", "")
                values[name] = values.get(name, 0.0) + float(value)
        return values

    async def history(self) -> list[tuple[str, str, int, int]]:
        """``(psid, mid, seq, handled_ms)`` per handled ``seq N`` message, in handling order."""
        rows = await self.bot_redis.lrange(history_key(self.keys), 0, -1)
        out = []
        for row in rows:
            psid, mid, seq, at_ms = row.decode().split(" ")
            out.append((psid, mid, int(seq), int(at_ms)))
        return out

    async def reruns(self) -> int:
        return int(await self.bot_redis.get(reruns_key(self.keys)) or 0)

    # -- the Graph stand-in -------------------------------------------------------------
    async def control(self, kind: str, **params: Any) -> dict[str, Any]:
        """``refuse``, ``delay``, ``error``, ``drop`` (see ``graph_standin``) or ``clear``."""
        async with self.http.post(self.dep.control_url + "/" + kind, json=params) as resp:
            return dict(await resp.json())

    async def standin_counts(self) -> dict[str, int]:
        async with self.http.get(self.dep.control_url + "/stats") as resp:
            return dict((await resp.json())["counts"])

    async def standin_sends(self) -> list[dict[str, Any]]:
        """Every send call the stand-in answered since the scenario's reset: recipient, message, status."""
        async with self.http.get(self.dep.control_url + "/sends") as resp:
            return list((await resp.json())["sends"])

    # -- live sales ---------------------------------------------------------------------
    async def seed_subscribers(self, count: int, *, window_open: bool = True, prefix: str = "") -> list[str]:
        """``count`` subscribers of the topic: the bot's consent ledger and window, and Meta's records.

        Each holds a marketing token known to both sides (so the legacy and Marketing Message API
        paths can send to them); ``window_open=False`` puts their last message two days back, so a
        notification must go on the marketing path instead of inside the 24-hour window.
        """
        now = int(time.time() * 1000)
        last = now if window_open else now - 2 * DAY_MS
        tag = prefix or str(now % 10_000_000)
        psids = [f"7{tag}{i:06d}" for i in range(count)]
        for start in range(0, count, SEED_CHUNK):
            chunk = psids[start:start + SEED_CHUNK]
            async with self.bot_redis.pipeline(transaction=False) as pipe:
                pipe.hset(self.keys.subscribers(TOPIC), mapping={
                    p: Subscription(p, TOPIC, "active", f"nmt-{p}", "legacy", "Asia/Manila", last).pack()
                    for p in chunk})
                pipe.hset(self.keys.window, mapping={p: last for p in chunk})
                await pipe.execute()
            async with self.meta_redis.pipeline(transaction=False) as pipe:
                for p in chunk:
                    pipe.hset(self.sandbox_keys.sandbox_shopper(p), mapping={
                        "name": "subscriber", "timezone": "Asia/Manila", "created_ms": last, "last_action_ms": last})
                    pipe.hset(self.sandbox_keys.sandbox_nm_token(f"nmt-{p}"), mapping={
                        "psid": p, "title": OPTIN_TITLE, "created_ms": last, "stopped": "0",
                        "payload": json.dumps({"topic": TOPIC})})
                    pipe.hset(self.sandbox_keys.sandbox_nm_tokens_of(p), OPTIN_TITLE, f"nmt-{p}")
                await pipe.execute()
        return psids

    async def new_sale(self, title: str = "Friday drop") -> str:
        return str((await self.api("POST", "/api/live-sales", {"title": title, "url": "https://shop.test/live"}))["id"])

    async def start_sale(self, sale_id: str) -> dict[str, Any]:
        return dict(await self.api("POST", f"/api/live-sales/{sale_id}/start"))

    async def sale(self, sale_id: str) -> dict[str, Any]:
        return dict(await self.api("GET", f"/api/live-sales/{sale_id}"))

    async def job_records(self, campaign: str, psids: list[str]) -> dict[str, dict[str, str]]:
        """Each subscriber's send record of the campaign (state, via, reason)."""
        records: dict[str, dict[str, str]] = {}
        for start in range(0, len(psids), SEED_CHUNK):
            chunk = psids[start:start + SEED_CHUNK]
            async with self.bot_redis.pipeline(transaction=False) as pipe:
                for psid in chunk:
                    pipe.hgetall(self.keys.send_record(f"{campaign}.{psid}"))
                for psid, raw in zip(chunk, await pipe.execute()):
                    records[psid] = {k.decode(): v.decode() for k, v in raw.items()}
        return records
