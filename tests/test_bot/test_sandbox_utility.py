"""The sandbox's utility messages (messenger-platform.md §3.3, §9): templates, the library, the send and its refusals.

The request shapes are [U] (``bot/graph/utility.py``); the tests build them with the same builders
the bot uses, so a correction of the shape is made in one place.
"""

from __future__ import annotations

from typing import Any

from bot.graph.utility import template_create_body, utility_send_body
from tests.test_bot.test_sandbox import (  # noqa: F401  (fixtures)
    DAY,
    SandboxClient,
    bot,
    error_of,
    sandbox,
)

BODY = "Your order {{order_id}} has shipped. Track it: {{tracking_url}}"
EXAMPLES = {"order_id": "A-1", "tracking_url": "https://track.example/A-1"}
PARAMS = {"order_id": "B-7", "tracking_url": "https://track.test/B-7"}


async def create(sandbox: SandboxClient, name: str = "order_shipped_test", body: str = BODY,
                 examples: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    status, answer, _ = await sandbox.graph(template_create_body(name, "en_US", body, examples or EXAMPLES),
                                            node=sandbox.settings.page_id, edge="message_templates")
    return status, answer


async def utility_send(sandbox: SandboxClient, psid: str, name: str = "order_shipped_test",
                       params: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    status, answer, _ = await sandbox.graph(utility_send_body(psid, name, "en_US", params or PARAMS, metadata="job-1"))
    return status, answer


async def test_a_created_template_is_approved_at_once_and_the_webhook_says_so(sandbox: SandboxClient) -> None:
    status, answer = await create(sandbox)
    assert status == 200 and answer["status"] == "APPROVED" and answer["category"] == "UTILITY"
    [hook] = [b for b in sandbox.bot.bodies if "changes" in b["entry"][0]]
    change = hook["entry"][0]["changes"][0]
    assert change["field"] == "message_template_status_update"
    assert change["value"]["event"] == "APPROVED" and change["value"]["message_template_id"] == answer["id"]
    assert change["value"]["message_template_name"] == "order_shipped_test"
    status, listed, _ = await sandbox.graph(None, node=sandbox.settings.page_id, edge="message_templates",
                                            method="GET")
    assert status == 200 and [(t["id"], t["status"]) for t in listed["data"]] == [(answer["id"], "APPROVED")]
    status, again = await create(sandbox)
    assert status == 400 and error_of(again) == (100, 2388024)


async def test_a_template_body_is_checked(sandbox: SandboxClient) -> None:
    body = template_create_body("order_shipped_test", "en_US", BODY, EXAMPLES)
    body["components"][0]["example"]["body_text_named_params"].pop()  # no example for tracking_url
    status, answer, _ = await sandbox.graph(body, node=sandbox.settings.page_id, edge="message_templates")
    assert status == 400 and error_of(answer) == (100, None)
    assert "tracking_url" in answer["error"]["message"]
    status, answer, _ = await sandbox.graph({"name": "Bad Name", "language": "en_US", "category": "UTILITY"},
                                            node=sandbox.settings.page_id, edge="message_templates")
    assert status == 400 and error_of(answer) == (100, None)
    status, answer, _ = await sandbox.graph({**template_create_body("promo", "en_US", BODY, EXAMPLES),
                                             "category": "MARKETING"},
                                            node=sandbox.settings.page_id, edge="message_templates")
    assert status == 400 and "UTILITY" in answer["error"]["message"]


async def test_the_library_lists_metas_order_update_templates(sandbox: SandboxClient) -> None:
    status, answer, _ = await sandbox.graph(None, node="message_template_library", edge="", method="GET")
    assert status == 200 and {"order_confirmation", "order_shipped"} <= {t["name"] for t in answer["data"]}
    assert all(t["category"] == "UTILITY" and t["parameters"] for t in answer["data"])
    url = (sandbox.base / "graph" / "v25.0" / "message_template_library").with_query(search="shipped",
                                                                                     language="en_US")
    async with sandbox.http.get(url, headers={"Authorization": f"Bearer {sandbox.token}"}) as resp:
        found = await resp.json()
    assert resp.status == 200 and [t["name"] for t in found["data"]] == ["order_shipped"]


async def test_a_utility_send_goes_outside_the_window_rendered_from_its_template(sandbox: SandboxClient) -> None:
    await create(sandbox)
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    await sandbox.advance(2 * DAY)
    status, answer = await utility_send(sandbox, psid)
    assert status == 200 and answer["recipient_id"] == psid and answer["message_id"].startswith("m_")
    [entry] = await sandbox.inbox(psid)
    assert entry["messaging_type"] == "UTILITY" and entry["message"]["template"] == "order_shipped_test"
    assert entry["message"]["text"] == "Your order B-7 has shipped. Track it: https://track.test/B-7"


async def test_a_utility_send_is_refused_for_an_unknown_or_unapproved_template_or_a_missing_parameter(
        sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    status, answer = await utility_send(sandbox, psid, "never_created")
    assert status == 400 and error_of(answer) == (100, 2494010)
    await create(sandbox)
    status, answer = await utility_send(sandbox, psid, params={"order_id": "B-7"})
    assert status == 400 and error_of(answer) == (100, 2494012)
    status, answer = await utility_send(sandbox, psid, params={**PARAMS, "discount": "50% OFF"})
    assert status == 400 and error_of(answer) == (100, 2494012)
    review = await sandbox.call("POST", "message-templates/order_shipped_test/status", {"status": "PAUSED"})
    assert review["templates"][0]["status"] == "PAUSED"
    assert sandbox.bot.bodies[-1]["entry"][0]["changes"][0]["value"]["event"] == "PAUSED"
    status, answer = await utility_send(sandbox, psid)
    assert status == 400 and error_of(answer) == (100, 2494011)
    await sandbox.call("POST", "message-templates/nope/status", {"status": "PAUSED"}, expect=404)
    await sandbox.call("POST", "message-templates/order_shipped_test/status", {"status": "GONE"}, expect=400)
    assert await sandbox.inbox(psid) == []


async def test_without_the_permission_nothing_utility_goes(sandbox: SandboxClient) -> None:
    await create(sandbox)
    psid = await sandbox.shopper()
    await sandbox.call("POST", "config", {"page_utility_messaging": False})
    status, answer = await utility_send(sandbox, psid)
    assert status in (400, 403) and error_of(answer) == (200, None)
    assert "page_utility_messaging" in answer["error"]["message"]
    status, answer, _ = await sandbox.graph(None, node=sandbox.settings.page_id, edge="message_templates",
                                            method="GET")
    assert error_of(answer) == (200, None)
    assert await sandbox.inbox(psid) == []
