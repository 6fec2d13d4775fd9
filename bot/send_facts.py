"""What a batch of send jobs needs to know, read in one script call (``sender_facts.lua``).

Per job: its record (state, route, owner, failed attempts), the echo that proves an earlier send,
and the policy's facts (window, consent, opt-in and private-reply history, cancellation); a private
reply under an Instagram live video also whether the video is still broadcast (:mod:`bot.instagram_live`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from redis.asyncio import Redis

from .channels import INSTAGRAM
from .consent import ShopperConsent, Subscription
from .instagram_live import InstagramLive
from .keys import Keys
from .policy import Facts
from .scripts import register_script
from .send_jobs import SendJob, SendRecord
from .settings import Settings
from .shopper_regions import region_from_fields
from .utility_templates import TemplateStore

SCRIPT = Path(__file__).with_name("sender_facts.lua").read_text()


@dataclass(frozen=True, slots=True)
class JobFacts:
    """One job's record (None before it was ever queued here), echo ('' if none) and policy facts."""

    record: SendRecord | None
    echo: str
    facts: Facts


class FactsLoader:
    """Reads the facts of a batch of jobs: one EVALSHA, one reply string per job."""

    def __init__(self, redis: Redis, keys: Keys, settings: Settings, live: InstagramLive | None = None) -> None:
        self._redis = redis
        self._live = live
        self._keys = keys
        self._topic = settings.optin_topic
        self._script = register_script(redis, SCRIPT)
        self._templates = TemplateStore(redis, keys)

    async def load(self, jobs: Sequence[SendJob]) -> tuple[int, list[JobFacts]]:
        """Redis's deployment time and each job's facts, in order."""
        k = self._keys
        keys = [k.clock_offset, k.window, k.opted_out, k.unreachable, k.shopper_regions]
        args: list[str] = []
        for job in jobs:
            topic = job.topic or self._topic
            keys += [k.send_record(job.id), k.echo_seen(job.id), k.optin_asked(job.psid or ""),
                     k.private_replied(job.comment_id or ""),
                     k.campaign_cancelled(job.campaign) if job.campaign else k.campaign_cancelled("-"),
                     k.subscribers(topic), k.otn_tokens(topic)]
            args += [job.psid or "", job.title or ""]
        now_raw, *rows = await self._script(keys=keys, args=args)
        now = int(now_raw)
        loaded = [self._parse(job, row.decode(), now) for job, row in zip(jobs, rows)]
        loaded = await self._with_instagram_optins(jobs, loaded, now)
        if self._live is not None:
            facts = await self._live.complete(jobs, [known.facts for known in loaded])
            loaded = [replace(known, facts=f) if f is not known.facts else known for known, f in zip(loaded, facts)]
        return now, await self._with_template_statuses(jobs, loaded)

    async def _with_instagram_optins(self, jobs: Sequence[SendJob], loaded: list[JobFacts], now: int
                                     ) -> list[JobFacts]:
        """Instagram opt-in requests get every title's last request time (one HGETALL per shopper, only when a
        batch has one), with the earlier such jobs of the batch for the same shopper counted as asked now
        (:func:`bot.instagram_policy.optin_limited`)."""
        wanted = [job for job in jobs if job.channel == INSTAGRAM and job.purpose == "optin_request" and job.psid]
        if not wanted:
            return loaded
        shoppers = sorted({job.psid or "" for job in wanted})
        async with self._redis.pipeline(transaction=False) as pipe:
            for psid in shoppers:
                pipe.hgetall(self._keys.optin_asked(psid))
            rows = await pipe.execute()
        asked = {psid: [int(v) for v in row.values()] for psid, row in zip(shoppers, rows)}
        result = []
        for job, known in zip(jobs, loaded):
            if any(job is w for w in wanted):
                times = asked[job.psid or ""]
                known = replace(known, facts=replace(known.facts, optins_asked=tuple(times)))
                times.append(now)  # the next one of this shopper in the batch counts this one
            result.append(known)
        return result

    async def _with_template_statuses(self, jobs: Sequence[SendJob], loaded: list[JobFacts]) -> list[JobFacts]:
        """Utility jobs get their template's review status (one HMGET, only when a batch has one)."""
        names = sorted({str(job.utility.get("template", "")) for job in jobs if job.utility})
        if not names:
            return loaded
        statuses = await self._templates.statuses(names)
        return [replace(known, facts=replace(known.facts, template_status=statuses.get(
                    str(job.utility.get("template", "")), ""))) if job.utility else known
                for job, known in zip(jobs, loaded)]

    def _parse(self, job: SendJob, row: str, now: int) -> JobFacts:
        (state, via, owner, attempts, failed_since, delays, after, sent_at, echo, window, asked, replied, cancelled,
         packed, otn, opted_out, unreachable, *region) = row.split("\x1f")
        record = SendRecord(state=state, via=via, owner=owner, attempts=int(attempts or 0),
                            failed_since=int(failed_since or 0), delays=int(delays or 0), after=after,
                            sent_at=int(sent_at or 0)) if state else None
        consent = None
        if job.psid:
            topic = job.topic or self._topic
            consent = ShopperConsent(
                subscription=Subscription.unpack(job.psid, topic, packed) if packed else None,
                otn_tokens=len(otn.split()), opted_out=opted_out == "1", unreachable=unreachable == "1")
        facts = Facts(now_ms=now, last_action_ms=int(window or 0), consent=consent, optin_asked_ms=int(asked or 0),
                      comment_ms=job.comment_ms, already_replied=replied == "1", cancelled=cancelled == "1",
                      region=region_from_fields(region))
        return JobFacts(record, echo, facts)
