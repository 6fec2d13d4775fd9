"""Chat scenarios (findings 2, 3, 4, 8): shoppers message the Page while the bot's Redis or the input misbehave.

Each function runs one scenario on a reset deployment and returns its :class:`Figures`; the tests
(small sizes) assert them, ``bench/faults.py`` (large sizes) prints them.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import aiohttp

from bot.settings import SANDBOX_APP_SECRET
from tests.faults.checker import Figures, chat_figures
from tests.faults.client import FaultClient
from tests.faults.load import Sent, burst, now_ms, send_one, steady, wait_until
from tests.support.webhooks import messaging_body, signed


async def shoppers(client: FaultClient, count: int, channel: str = "messenger") -> list[str]:
    return list(await asyncio.gather(*(client.shopper(f"shopper {i}", channel) for i in range(count))))


async def settle_chat(client: FaultClient, sent: list[Sent], timeout: float, *, expect_replies: bool = True
                      ) -> tuple[list[tuple[str, str, int, int]], dict[str, list[tuple[int, int]]]]:
    """Wait (at most ``timeout``) until every accepted event is handled and answered; the history and replies."""
    accepted = [s for s in sent if s.accepted]
    mids = {s.mid for s in accepted}
    psids = sorted({s.psid for s in sent})

    async def done() -> bool:
        if not mids <= {h[1] for h in await client.history()}:
            return False
        if not expect_replies:
            return True
        replies = await client.acks_of(psids)
        have = {(p, seq) for p, acks in replies.items() for seq, _ in acks}
        return all((s.psid, s.seq) in have for s in accepted)

    await wait_until(done, timeout, interval=0.25)
    return await client.history(), await client.acks_of(psids)


# -- 3: order across two workers ---------------------------------------------------------
async def order_with_two_workers(client: FaultClient, shopper_count: int = 4, messages: int = 30,
                                 settle: float = 20.0, *, instagram: int = 0) -> Figures:
    """Shoppers each send ``messages`` quick messages; handling and replies must keep each one's order.
    ``instagram``: how many more shoppers message the Page's Instagram account meanwhile."""
    psids = await shoppers(client, shopper_count) + await shoppers(client, instagram, "instagram")
    sent = await burst(client, psids, messages)
    handled, replies = await settle_chat(client, sent, settle)
    return chat_figures("3 order, two workers" + (", Messenger and Instagram" if instagram else ""), sent, handled,
                        replies)


# -- 2: malformed bodies between normal traffic --------------------------------------------
def malformed_bodies(page_id: str, psid: str, tag: str) -> dict[str, bytes]:
    """Signed-to-be bodies a fuzzer found trouble with (finding 2), each a single bad part.

    ``tag`` makes every mid new: a part sent again with the same mid would rightly be dropped as a
    redelivery, and then it would be counted nowhere.
    """
    base = {"sender": {"id": psid}, "recipient": {"id": page_id}}

    def body(item: dict[str, Any]) -> bytes:
        return json.dumps(messaging_body(page_id, {**base, **item})).encode()

    message = {"mid": "", "text": "hello"}
    deep = "[" * 50_000 + "]" * 50_000
    return {
        "nan timestamp": body({"timestamp": math.nan, "message": {**message, "mid": f"m_bad_nan_{tag}"}}),
        "infinite timestamp": body({"timestamp": math.inf, "message": {**message, "mid": f"m_bad_inf_{tag}"}}),
        "huge timestamp": body({"timestamp": 0, "message": {**message, "mid": f"m_bad_big_{tag}"}}).replace(
            b'"timestamp": 0', b'"timestamp": 1e400'),
        "mids not a list": body({"timestamp": now_ms(), "delivery": {"mids": "m_1", "watermark": now_ms()}}),
        "lone surrogate": body({"timestamp": now_ms(), "message": {"mid": f"m_bad_surrogate_{tag}", "text": "sale \ud83d"}}),
        "attachments not a list": body({"timestamp": now_ms(),
                                        "message": {"mid": f"m_bad_att_{tag}", "attachments": {"type": "image"}}}),
        "deep nesting": body({"timestamp": now_ms(), "message": {"mid": f"m_bad_deep_{tag}", "text": "x"}}).replace(
            b'"text": "x"', b'"text": "x", "extra": ' + deep.encode()),
    }


async def malformed_between_normal(client: FaultClient, shopper_count: int = 8, rounds: int = 6,
                                   settle: float = 8.0) -> Figures:
    """Rounds of normal messages with every malformed body posted (signed) in between.

    Delivery receipts are off here, so every delivery event handled is one of the malformed parts
    (``mids`` not a list) made harmless.
    """
    await client.configure(receipts=False)
    psids = await shoppers(client, shopper_count)
    before = await client.metrics()
    sent: list[Sent] = []
    statuses: dict[str, list[int]] = {}
    bad_psid = await client.shopper("fuzzer")
    for round_ in range(rounds):
        sent += await asyncio.gather(*(send_one(client, p, round_) for p in psids))
        for name, raw in malformed_bodies(client.keys.page_id, bad_psid, f"{round_}_{now_ms()}").items():
            body, headers = signed(raw, SANDBOX_APP_SECRET)
            statuses.setdefault(name, []).append(await client.webhook(body, headers))
    for name, header in (("signature not utf-8", "sha256=\xff\xfe"),):
        body, headers = signed(b'{"object":"page","entry":[]}', SANDBOX_APP_SECRET)
        statuses[name] = [await client.webhook(body, {**headers, "X-Hub-Signature-256": header})]
    handled, replies = await settle_chat(client, sent, settle)
    await wait_until(lambda: _inbox_empty(client), 10.0)
    after = await client.metrics()
    figures = chat_figures("2 malformed bodies between normal traffic", sent, handled, replies)
    parts = sum(len(v) for k, v in statuses.items() if k != "signature not utf-8")
    refused_at_door = sum(1 for k, v in statuses.items() for s in v if 400 <= s < 500 and k != "signature not utf-8")
    counted = (_delta(before, after, "salebell_events_rejected_total")
               + _delta(before, after, "salebell_events_failed_total"))  # rejected, or dead-lettered
    # a part made harmless and handled as a message (a lone surrogate replaced, say) is accounted for too
    handled_normal = len({h[1] for h in handled} & {s.mid for s in sent if s.accepted})
    made_harmless = (max(0.0, _delta(before, after, 'salebell_events_total{kind="message"}') - handled_normal)
                     + _delta(before, after, 'salebell_events_total{kind="delivery"}'))
    accounted = refused_at_door + counted + made_harmless
    five_xx = {k: v for k, v in statuses.items() if any(s >= 500 or s == 0 for s in v)}
    backlog = after.get("salebell_inbox_backlog", -1)
    figures.notes.update({"malformed parts": parts, "refused": refused_at_door, "rejected or dead-lettered":
                          int(counted), "made harmless and handled": int(made_harmless), "inbox backlog": int(backlog),
                          "answers": {k: sorted(set(v)) for k, v in statuses.items()}})
    if five_xx:
        figures.failures.append(f"5xx or no answer to {sorted(five_xx)}")
    if accounted < parts:
        figures.failures.append(f"only {int(accounted)} of {parts} malformed parts refused, or rejected and counted "
                                "in /metrics")
    if backlog != 0:
        figures.failures.append(f"{int(backlog)} entries stuck in the inbox")
    return figures


async def _inbox_empty(client: FaultClient) -> bool:
    """Nothing left to split nor to handle (a part made harmless is counted once it is handled)."""
    metrics = await client.metrics()
    return all(metrics.get(name, -1) == 0 for name in
               ("salebell_inbox_backlog", "salebell_shoppers_ready", "salebell_shoppers_leased"))


def _delta(before: dict[str, float], after: dict[str, float], metric: str) -> float:
    """How much ``metric`` (a family, or one labelled series) grew."""
    total = 0.0
    for name, value in after.items():
        if name == metric or (name.startswith(metric + "{") and "{" not in metric):
            total += value - before.get(name, 0.0)
    return total


# -- 4: a Redis outage under steady load ---------------------------------------------------------
async def redis_outage_under_load(client: FaultClient, rate: float = 100.0, shopper_count: int = 50,
                                  before: float = 2.0, outage: float = 5.0, after: float = 3.0,
                                  settle: float = 12.0, kill: bool = True) -> Figures:
    """Steady chat; the bot's Redis dies for ``outage`` seconds and comes back with its data."""
    psids = await shoppers(client, shopper_count)
    started = asyncio.get_running_loop().time()
    load = asyncio.create_task(steady(client, psids, rate, before + outage + after))
    await asyncio.sleep(before)
    await asyncio.to_thread(client.dep.bot_redis.kill if kill else client.dep.bot_redis.stop)
    await asyncio.sleep(outage)
    await asyncio.to_thread(client.dep.bot_redis.start)
    back_ms = now_ms()
    admin = [await client.api_status("GET", "/api/live-sales") for _ in range(10)]
    sent = await load
    achieved = len(sent) / (asyncio.get_running_loop().time() - started)
    handled, replies = await settle_chat(client, sent, settle)
    figures = chat_figures(f"4 Redis {'killed' if kill else 'stopped'} {outage:g}s under {rate:g} webhooks/s",
                           sent, handled, replies, bound_s=5.0,
                           delay_from_ms={s.mid: back_ms for s in sent if s.accepted_ms < back_ms})
    first_reply = {}
    for psid, acks in replies.items():
        for seq, at in acks:
            first_reply.setdefault((psid, seq), at)
    new = sorted(first_reply[(s.psid, s.seq)] - s.accepted_ms for s in sent
                 if s.accepted and s.sent_ms > back_ms and (s.psid, s.seq) in first_reply)
    p99 = new[min(len(new) - 1, int(len(new) * 0.99))] / 1000 if new else float("nan")
    handled_at = {mid: at for _, mid, _, at in reversed(handled)}
    to_handled = sorted(handled_at[s.mid] - s.accepted_ms for s in sent
                        if s.accepted and s.sent_ms > back_ms and s.mid in handled_at)
    figures.notes.update({"webhooks/s achieved": achieved, "new events": len(new), "new answered p99 s": p99,
                          "new handled p99 s": to_handled[int(len(to_handled) * 0.99)] / 1000 if to_handled else 0.0,
                          "reruns": await client.reruns(),
                          "admin API 5xx just after": sum(1 for s in admin if s >= 500 or s == 0)})
    if not new or p99 > 2.0:
        figures.failures.append(f"a new event answered in {p99:.2f}s (p99) after Redis returned; the bound is 2s")
    return figures


# -- 8: Redis comes back empty ---------------------------------------------------------------------
async def redis_back_empty(client: FaultClient, bound: float = 5.0, watch: float = 8.0) -> Figures:
    """The bot's Redis is replaced by an empty one; a new message must be answered again within ``bound``."""
    psid = (await shoppers(client, 1))[0]
    warm = [await send_one(client, psid, 0)]
    await settle_chat(client, warm, 10.0)

    def restart_empty() -> None:
        client.dep.bot_redis.stop()
        client.dep.bot_redis.wipe()
        client.dep.bot_redis.start()

    await asyncio.to_thread(restart_empty)
    back_ms = now_ms()
    sent = [await send_one(client, psid, 1)]
    lies: list[float] = []
    answered = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + watch
    while loop.time() < deadline:
        if any(seq == 1 for seq, _ in (await client.acks_of([psid]))[psid]):
            answered = True
            break
        status, _ = await client.healthz()
        waited = (now_ms() - back_ms) / 1000
        if status == 200 and waited > bound:
            lies.append(waited)
        await asyncio.sleep(0.25)
    handled, replies = await client.history(), await client.acks_of([psid])
    figures = chat_figures("8 Redis back empty", sent, handled, replies, bound_s=bound,
                           delay_from_ms={s.mid: back_ms for s in sent})
    figures.notes["healthz ok while unanswered"] = len(lies)
    if not answered:
        figures.failures.append(f"no answer to a new message within {watch:g}s of Redis coming back empty")
    if lies:
        figures.failures.append(f"/healthz said ok {len(lies)} times while the bot could not answer "
                                f"(up to {max(lies):.1f}s after Redis came back)")
    return figures
