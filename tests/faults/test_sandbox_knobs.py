"""The two sandbox settings the fault suite relies on: webhook retries over an outage, and late echoes."""

from __future__ import annotations

import asyncio
import time

from tests.test_bot.test_sandbox import SandboxClient, bot, sandbox  # noqa: F401  (fixtures)


async def test_by_default_a_refused_webhook_is_given_up_after_three_quick_retries(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    sandbox.bot.status = 503
    answer = await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "hi"})
    assert (answer["webhook_status"], answer["webhook_attempts"]) == (503, 4)


async def test_with_a_retry_budget_a_webhook_is_retried_until_the_bot_accepts_it(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    config = await sandbox.call("POST", "config", {"webhook_retry_seconds": 10})
    assert config["webhook_retry_seconds"] == 10
    sandbox.bot.status = 503

    async def recover() -> None:
        await asyncio.sleep(2.0)  # longer than the quick retries (0.75 s)
        sandbox.bot.status = 200

    recovering = asyncio.create_task(recover())
    answer = await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "hi"})
    await recovering
    assert answer["webhook_status"] == 200 and answer["webhook_attempts"] > 4
    assert sandbox.bot.items()[-1]["message"]["text"] == "hi"


async def test_a_retry_budget_ends(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.call("POST", "config", {"webhook_retry_seconds": 2})
    sandbox.bot.status = 503
    started = time.monotonic()
    answer = await sandbox.call("POST", f"shoppers/{psid}/messages", {"text": "hi"})
    assert answer["webhook_status"] == 503 and time.monotonic() - started < 10


async def test_echoes_can_be_held_back_after_their_receipts(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    await sandbox.call("POST", "config", {"echo_delay_ms": 1500, "read_receipts": False})
    body = {"recipient": {"id": psid}, "messaging_type": "RESPONSE",
            "message": {"text": "hello", "metadata": "job-1"}}
    status, answer, _ = await sandbox.graph(body)
    assert status == 200
    delivered = await sandbox.bot.wait_for(lambda: [i for i in sandbox.bot.items() if "delivery" in i])
    assert delivered[0]["delivery"]["mids"] == [answer["message_id"]]
    assert not [i for i in sandbox.bot.items() if i.get("message", {}).get("is_echo")]  # not yet
    echoes = await sandbox.bot.wait_for(
        lambda: [i for i in sandbox.bot.items() if i.get("message", {}).get("is_echo")], timeout=5.0)
    assert echoes[0]["message"]["metadata"] == "job-1" and echoes[0]["message"]["mid"] == answer["message_id"]
