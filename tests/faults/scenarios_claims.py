"""Claim scenarios (issue 12): a burst of claim comments on a live sale's product while a worker dies.

The sale is started by going live on the sandbox (its ``live_videos`` webhook), its live post linked and a
product added through the admin API. The commenters are sandbox shoppers, their comments are seeded into
Meta's records (so each may get its one private reply) and their ``feed`` webhooks are signed and posted
straight to the bot's ``/webhook``, shuffled, as Meta delivers a busy live video's comments. The outcome is
read from the admin API (the claims, the products, the sale's claim numbers), from what the Graph stand-in
was asked to send and from what reached each shopper (the sandbox's inbox).
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tests.faults.checker import Figures
from tests.faults.client import FaultClient
from tests.faults.load import wait_until
from tests.faults.scenarios_fanout import IN_FLIGHT

CODE, TITLE, UNITS = "12", "Denim jacket", 10
# A comment whose worker dies before recording it is recorded once its event is reclaimed (the inbox
# splitter's and the shopper queues' leases are 2 s in the suite): its claim must still settle ahead of every
# later comment, so CLAIM_SETTLE_MS is well above the burst plus that (the rule in live_sales/claim_scripts.py;
# bench/claims.py uses 3 s for a shuffled burst with nothing killed). Here the last claim is recorded about
# 2.1 s after the kill, the first about 0.5 s before it.
SETTLE_MS = 8000
# The workers' settings: echoes come at once here (the suite's 10 s are for scenario 6's late echoes), so a
# reclaimed private reply that never reached Meta is sent again after 5 s.
WORKERS = {"CLAIM_SETTLE_MS": str(SETTLE_MS), "ECHO_WAIT_SECONDS": "5"}
CONNECTIONS = 32
KILL_MOMENTS = ("recording", "answering")


@dataclass(frozen=True, slots=True)
class Comment:
    comment_id: str
    psid: str
    created_s: int  # Meta's created_time (whole seconds): a comment's place in line


def feed_body(page_id: str, post_id: str, comment: Comment, name: str) -> bytes:
    value = {"item": "comment", "verb": "add", "comment_id": comment.comment_id, "post_id": post_id,
             "parent_id": post_id, "from": {"id": comment.psid, "name": name}, "message": f"SOLD {CODE}",
             "created_time": comment.created_s}
    return json.dumps({"object": "page", "entry": [{"id": page_id, "time": int(time.time() * 1000),
                                                    "changes": [{"field": "feed", "value": value}]}]}).encode()


def words(message: dict[str, Any]) -> str:
    return str(message.get("text") or ((message.get("attachment") or {}).get("payload") or {}).get("text") or "")


async def live_sale_with_product(client: FaultClient, units: int = UNITS) -> tuple[str, str]:
    """The Page goes live on the sandbox (the bot starts a sale), the live post is linked, product 12 added."""
    video = await client.meta("POST", "/sandbox/posts", {"message": "Denim drop, live now!", "live": True})
    live: list[dict[str, Any]] = []

    async def started() -> bool:
        live[:] = (await client.api("GET", "/api/live-sales?status=live"))["live_sales"]
        return bool(live)

    if not await wait_until(started, 15.0, interval=0.1):
        raise AssertionError("going live on the sandbox started no live sale")
    [sale] = live
    assert sale["video_id"] == video["live_video_id"], sale
    await client.api("POST", f"/api/live-sales/{sale['id']}/links", {"post_ids": [video["post_id"]]})
    await client.api("POST", f"/api/live-sales/{sale['id']}/products", {"code": CODE, "title": TITLE,
                                                                      "quantity": units})
    return str(sale["id"]), str(video["post_id"])


async def commenters(client: FaultClient, post_id: str, count: int) -> list[Comment]:
    """``count`` shoppers, one comment each, created a second apart (in this list's order, a few minutes
    back); comment ids random, so neither the ids nor the arrival order say which came first."""
    psids = await asyncio.gather(*(client.shopper(f"Shopper {i}") for i in range(count)))
    first_s = int(time.time()) - count - 120
    object_id = post_id.rsplit("_", 1)[-1]
    ids = sorted({f"{object_id}_{secrets.randbelow(9 * 10**15) + 10**15}" for _ in range(count * 2)})
    random.Random(count).shuffle(ids)
    comments = [Comment(ids[i], psids[i], first_s + i) for i in range(count)]
    await client.seed_comments(post_id, [(c.comment_id, c.psid, c.created_s * 1000) for c in comments])
    return comments


async def post_shuffled(client: FaultClient, bodies: list[bytes], statuses: list[int]) -> None:
    """POST every body over :data:`CONNECTIONS` connections, in a shuffled order; ``statuses`` gets each answer."""
    order = list(range(len(bodies)))
    random.Random(len(bodies) + 1).shuffle(order)
    queue = iter(order)

    async def connection() -> None:
        for i in queue:
            statuses[i] = await client.webhook(bodies[i])

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


async def worker_killed_mid_claims(client: FaultClient, when: str, count: int = 300,
                                   timeout: float = 45.0) -> Figures:
    """``count`` shoppers comment "SOLD 12" on 10 units, posted shuffled within about a second, over two
    workers; one worker SIGKILLed ``when``: ``recording`` (a third of the claims recorded, its leased comment
    events unfinished) or ``answering`` (a third of the private replies asked of the stand-in, which holds
    every other one 1 s on its way to Meta and the others 1 s on the way back, so some are in flight).

    Holds when: exactly the 10 earliest comments (by ``created_time``) claimed, every other waitlisted with
    positions 1..N in comment-time order; each comment answered by exactly one private reply, at the stand-in
    (one call Meta took) and in the shopper's inbox, saying claimed or its waitlist position; the product
    shows 10 taken and 0 left; the sale's claim numbers agree.
    """
    assert when in KILL_MOMENTS
    sale, post = await live_sale_with_product(client)
    comments = await commenters(client, post, count)
    bodies = [feed_body(client.dep.page_id, post, c, f"Shopper {i}") for i, c in enumerate(comments)]
    statuses = [0] * count
    at_kill: dict[str, int] = {}
    loop = asyncio.get_running_loop()

    async def recorded() -> int:
        return int(await client.bot_redis.zcard(client.sale_keys.sale_claims(sale)))

    async def kill() -> None:
        if when == "recording":
            await wait_until(lambda: _at_least(recorded(), count // 3), timeout, interval=0.01)
        else:
            await wait_until(lambda: _at_least(_received(client), count // 3), timeout, interval=0.02)
        at_kill.update(recorded=await recorded(), received=await _received(client),
                       posted=sum(1 for s in statuses if s), ms=int(time.time() * 1000))
        await asyncio.to_thread(client.dep.kill_worker, 0)

    if when == "answering":  # in force from the burst until shortly after the answers begin
        await client.control("delay", **IN_FLIGHT, for_seconds=SETTLE_MS / 1000 + 4)
    began = loop.time()
    killer = asyncio.create_task(kill())
    await post_shuffled(client, bodies, statuses)
    burst_s = loop.time() - began

    async def answered() -> bool:
        numbers = (await client.sale(sale))["claims"]
        return killer.done() and numbers["answers"]["queued"] >= count and numbers["answers"]["pending"] == 0

    done = await wait_until(answered, timeout, interval=0.2)
    seconds = loop.time() - began
    if not killer.done():
        killer.cancel()
    await asyncio.gather(killer, return_exceptions=True)
    await asyncio.sleep(1.0)  # a straggler reply would show up as a duplicate
    return await _figures(client, when, sale, comments, statuses, done, timeout, at_kill,
                          {"burst": burst_s, "answered": seconds})


async def _at_least(value: Any, floor: int) -> bool:
    return int(await value) >= floor


async def _received(client: FaultClient) -> int:
    return (await client.standin_counts()).get("received", 0)


async def _figures(client: FaultClient, when: str, sale: str, comments: list[Comment], statuses: list[int],
                   done: bool, timeout: float, at_kill: dict[str, int], seconds: dict[str, float]) -> Figures:
    count = len(comments)
    figures = Figures(f"14 worker SIGKILLed mid claim burst ({when}), {count} comments on {UNITS} units",
                      accepted=sum(1 for s in statuses if s == 200))
    failures = figures.failures
    if figures.accepted != count:
        failures.append(f"{count - figures.accepted} claim webhooks not accepted: {Counter(statuses)}")
    if not done:
        failures.append(f"the claims' answers were not all sent within {timeout:g}s")
    if not at_kill:
        failures.append("no worker was killed")
    listed = (await client.api("GET", f"/api/live-sales/{sale}/claims?limit=10000"))["claims"]
    of_psid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for claim in listed:
        of_psid[str(claim["psid"])].append(claim)
    place = {c.psid: i for i, c in enumerate(comments)}
    if [place.get(str(c["psid"]), -1) for c in listed] != sorted(place.get(str(c["psid"]), -1) for c in listed):
        failures.append("the host's list of claims is not in comment-time order")
    twice = sum(1 for c in comments if len(of_psid[c.psid]) > 1)
    strays = [c for c in listed if str(c["psid"]) not in place]
    if twice or strays or len(listed) != count:
        failures.append(f"{len(listed)} claims for {count} comments: {twice} comments claimed more than once, "
                        f"{len(strays)} claims of no commenter")
    not_their_id = sum(1 for c in comments if any(x["claim_id"] != c.comment_id for x in of_psid[c.psid]))
    if not_their_id:
        failures.append(f"{not_their_id} claims whose id is not their comment's id")

    # the line: the 10 earliest claimed, the rest waitlisted in comment-time order
    expected = [("claimed", None)] * UNITS + [("waitlisted", n) for n in range(1, count - UNITS + 1)]
    got = [(of_psid[c.psid][0]["status"], of_psid[c.psid][0]["waitlist_position"]) if of_psid[c.psid]
           else ("missing", None) for c in comments]
    figures.out_of_order = sum(1 for g, e in zip(got, expected) if g != e)
    if figures.out_of_order:
        wrong = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected)) if g != e][:5]
        failures.append(f"not by comment time (comment #, got, expected): {wrong}")
    counts = Counter(c["status"] for c in listed)
    if (counts["claimed"], counts["waitlisted"]) != (UNITS, count - UNITS):
        failures.append(f"claimed {counts['claimed']}, waitlisted {counts['waitlisted']} (statuses {dict(counts)})")

    # the answers: one private reply per comment that Meta took (at the stand-in), one in each inbox
    sends = await client.standin_sends()
    to_comment = [s for s in sends if isinstance(s["recipient"], dict) and "comment_id" in s["recipient"]]
    taken = Counter(s["recipient"]["comment_id"] for s in to_comment if s["status"] == 200)
    text_of = {s["recipient"]["comment_id"]: words(s["message"] or {}) for s in to_comment if s["status"] == 200}
    inboxes = await _replies(client, [c.psid for c in comments])
    figures.lost = sum(1 for c in comments if not taken[c.comment_id] or not inboxes[c.psid])
    figures.duplicated = sum(1 for c in comments if taken[c.comment_id] > 1 or len(inboxes[c.psid]) > 1
                             or len(of_psid[c.psid]) > 1)
    wrong_text = []
    for i, c in enumerate(comments):
        said = text_of.get(c.comment_id, "")
        meant = f"{TITLE} [{CODE}] is yours" if i < UNITS else f"number {i - UNITS + 1} on the waitlist"
        if meant not in said or [said] != inboxes[c.psid]:
            wrong_text.append((i, said[:60], inboxes[c.psid][:2]))
    if wrong_text:
        failures.append(f"{len(wrong_text)} answers not saying their claim's outcome: {wrong_text[:3]}")

    # stock: never below zero, every unit taken; and the sale's own numbers say the same
    [product] = (await client.api("GET", f"/api/live-sales/{sale}/products"))["products"]
    if (product["taken"], product["left"]) != (UNITS, 0):
        failures.append(f"product {CODE}: taken {product['taken']}, left {product['left']}")
    numbers = (await client.sale(sale))["claims"]
    told = (numbers["comments"], numbers["claimed"], numbers["waitlisted"], numbers["answers"]["sent"],
            numbers["unanswered_total"])
    if told != (count, UNITS, count - UNITS, count, 0):
        failures.append(f"the sale's claim numbers (comments, claimed, waitlisted, answers sent, unanswered) "
                        f"say {told}; unanswered {numbers['unanswered']}")

    figures.max_delay_s = seconds["answered"]
    killed_ms = at_kill.pop("ms", 0)
    arrived = [int(c["arrived_ms"]) for c in listed]
    # the kill must have left the other worker something to take over, or the scenario proved nothing
    late = sum(1 for a in arrived if killed_ms and a > killed_ms + 1500)
    asked = (await client.standin_counts()).get("received", 0)
    if when == "recording" and not late and not numbers["duplicates"]:
        failures.append("the killed worker left no comment event to take over (none handled twice, none late)")
    if when == "answering" and asked <= count:
        failures.append("no private reply was asked of the stand-in again after the kill (the kill interrupted "
                        "none, or none was sent again)")
    figures.notes.update({
        "burst": f"{seconds['burst']:.2f}s", "at the kill": at_kill,
        "comments handled twice": numbers["duplicates"],
        "recorded after the reclaim": late,
        "claims recorded (s from the kill)": (
            f"{(min(arrived) - killed_ms) / 1000:+.2f} to {(max(arrived) - killed_ms) / 1000:+.2f}"
            if arrived and killed_ms else "-"),
        "private replies refused by Meta": sum(1 for s in to_comment if s["status"] != 200),
        "stand-in": await client.standin_counts(),
    })
    return figures


async def _replies(client: FaultClient, psids: list[str]) -> dict[str, list[str]]:
    """What reached each shopper as a private reply (the sandbox's inbox, ``via`` comment), in order."""
    found: dict[str, list[str]] = {}
    async with client.meta_redis.pipeline(transaction=False) as pipe:
        for psid in psids:
            pipe.lrange(client.sandbox_keys.sandbox_inbox(psid), 0, -1)
        for psid, rows in zip(psids, await pipe.execute()):
            messages = [json.loads(row) for row in rows]
            found[psid] = [words(m.get("message") or {}) for m in messages if m.get("via") == "comment"]
    return found
