"""The sandbox's opt-ins and what they permit: marketing tokens on both paths, OTN, private replies."""

from __future__ import annotations

from typing import Any

from tests.test_bot.test_sandbox import (  # noqa: F401  (fixtures)
    DAY,
    HOUR,
    SandboxClient,
    bot,
    error_of,
    sandbox,
)

TITLE = "Get daily reminders"


def card(psid: str, title: str = TITLE, kind: str = "notification_messages", payload: str = "daily") -> dict[str, Any]:
    template = {"template_type": kind, "title": title, "payload": payload}
    if kind == "notification_messages":
        template["notification_messages_timezone"] = "Asia/Manila"
    return {"recipient": {"id": psid}, "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "template", "payload": template}}}


async def opted_in(sandbox: SandboxClient, title: str = TITLE) -> tuple[str, str]:
    """A shopper who asked, got the card and tapped it: (psid, token)."""
    psid = await sandbox.shopper()
    await sandbox.say(psid, "remind me")
    status, answer, _ = await sandbox.graph(card(psid, title))
    assert status == 200, answer
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": title})
    return psid, sandbox.bot.items()[-1]["optin"]["notification_messages_token"]


async def legacy(sandbox: SandboxClient, token: str, text: str = "We're live!") -> tuple[int, dict[str, Any]]:
    status, answer, _ = await sandbox.graph({"recipient": {"notification_messages_token": token},
                                             "message": {"text": text}})
    return status, answer


async def marketing(sandbox: SandboxClient, token: str, buttons: list[dict[str, Any]] | None = None,
                    campaign: str | None = None) -> tuple[int, dict[str, Any]]:
    element = {"title": "We're LIVE", "buttons": buttons or [
        {"type": "web_url", "url": "https://example.shop/live", "title": "Watch"}]}
    body = {"message_id": campaign or sandbox.settings.message_campaign_id,
            "messenger_delivery_data": {"subscription_token": token},
            "message": {"attachment": {"type": "template", "payload": {"template_type": "generic",
                                                                       "elements": [element]}}}}
    status, answer, _ = await sandbox.graph(body, node="act_" + sandbox.settings.ad_account_id)
    return status, answer


async def test_optin_webhook_issues_a_token_and_opens_no_window(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": TITLE}, expect=409)
    await sandbox.say(psid)
    assert (await sandbox.graph(card(psid)))[0] == 200
    await sandbox.advance(25 * HOUR)
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": TITLE})
    optin = sandbox.bot.items()[-1]["optin"]
    assert optin["type"] == "notification_messages" and optin["title"] == TITLE and optin["payload"] == "daily"
    assert optin["notification_messages_timezone"] == "Asia/Manila" and optin["notification_messages_token"]
    assert "notification_messages_status" not in optin
    status, answer = await sandbox.send(psid)
    assert status == 400 and error_of(answer) == (10, 2018278)


async def test_optin_request_only_inside_the_window_and_once_a_week_per_title(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    status, answer, _ = await sandbox.graph(card(psid))
    assert status == 400 and error_of(answer) == (10, 2018278)
    await sandbox.say(psid)
    assert (await sandbox.graph(card(psid)))[0] == 200
    status, answer, _ = await sandbox.graph(card(psid))
    assert status == 400 and error_of(answer) == (613, 1893016)
    assert (await sandbox.graph(card(psid, "Back in stock alerts")))[0] == 200
    await sandbox.advance(7 * DAY)
    await sandbox.say(psid)
    assert (await sandbox.graph(card(psid)))[0] == 200


async def test_legacy_token_48_hours_stop_and_resume(sandbox: SandboxClient) -> None:
    psid, token = await opted_in(sandbox)
    status, answer = await legacy(sandbox, token)
    assert status == 200 and answer["recipient_id"] == psid
    entry = (await sandbox.inbox(psid))[-1]
    assert entry["via"] == "notification_messages_token" and entry["notification"] == {"title": TITLE}
    status, answer = await legacy(sandbox, token)
    assert status == 400 and error_of(answer) == (4, 2018354)
    await sandbox.advance(47 * HOUR)
    assert error_of((await legacy(sandbox, token))[1]) == (4, 2018354)
    await sandbox.advance(HOUR)
    assert (await legacy(sandbox, token))[0] == 200
    status, answer = await legacy(sandbox, "NMTnot-a-token")
    assert error_of(answer) == (100, None) and "notification_messages_token is invalid" in answer["error"]["message"]

    await sandbox.call("POST", f"shoppers/{psid}/notifications", {"title": TITLE, "action": "stop"})
    optin = sandbox.bot.items()[-1]["optin"]
    assert optin["notification_messages_status"] == "STOP_NOTIFICATIONS"
    assert optin["notification_messages_token"] == token
    await sandbox.advance(48 * HOUR)
    assert error_of((await legacy(sandbox, token))[1]) == (10, 1893015)
    assert error_of((await marketing(sandbox, token))[1]) == (100, 2300034)
    await sandbox.call("POST", f"shoppers/{psid}/notifications", {"title": TITLE, "action": "resume"})
    optin = sandbox.bot.items()[-1]["optin"]
    assert (optin["notification_messages_status"], optin["notification_messages_token"]) == (
        "RESUME_NOTIFICATIONS", token)
    assert (await legacy(sandbox, token))[0] == 200
    await sandbox.call("POST", f"shoppers/{psid}/notifications", {"title": "Other", "action": "stop"}, expect=409)


async def test_marketing_message_api(sandbox: SandboxClient) -> None:
    psid, token = await opted_in(sandbox)
    status, answer = await marketing(sandbox, token)
    assert status == 200 and answer["success"] is True and len(answer["marketing_message_tracking_id"]) == 36
    entry = (await sandbox.inbox(psid))[-1]
    assert entry["via"] == "marketing_api" and entry["tracking_id"] == answer["marketing_message_tracking_id"]
    assert error_of((await marketing(sandbox, token))[1]) == (100, 2300035)
    assert (await legacy(sandbox, token))[0] == 200  # the legacy path keeps its own gap
    await sandbox.advance(12 * HOUR)
    assert (await marketing(sandbox, token))[0] == 200
    assert error_of((await marketing(sandbox, "NMTunknown"))[1]) == (100, 2300004)
    postback = [{"type": "postback", "title": "Remind", "payload": "P"}]
    assert error_of((await marketing(sandbox, token, postback))[1]) == (100, 2300023)
    four = [{"type": "web_url", "url": f"https://example.shop/{i}", "title": str(i)} for i in range(4)]
    assert error_of((await marketing(sandbox, token, four))[1]) == (100, 2300026)
    assert error_of((await marketing(sandbox, token, campaign="123"))[1]) == (100, 33)


async def test_one_time_notification_is_single_use(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    title = "Tell me when the denim is back"
    assert (await sandbox.graph(card(psid, title, "one_time_notif_req", "BACK_DENIM")))[0] == 200
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": title})
    optin = sandbox.bot.items()[-1]["optin"]
    assert (optin["type"], optin["payload"]) == ("one_time_notif_req", "BACK_DENIM")
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": title}, expect=409)  # tapped already
    await sandbox.advance(3 * DAY)
    body = {"recipient": {"one_time_notif_token": optin["one_time_notif_token"]}, "message": {"text": "Back!"}}
    status, answer, _ = await sandbox.graph(body)
    assert status == 200 and answer["recipient_id"] == psid
    assert (await sandbox.inbox(psid))[-1]["via"] == "one_time_notif_token"
    status, answer, _ = await sandbox.graph(body)
    assert error_of(answer) == (100, None) and "already been used" in answer["error"]["message"]


async def test_one_time_notification_expires_after_a_year(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    await sandbox.say(psid)
    assert (await sandbox.graph(card(psid, "Next drop", "one_time_notif_req", "DROP")))[0] == 200
    await sandbox.call("POST", f"shoppers/{psid}/optins", {"title": "Next drop"})
    token = sandbox.bot.items()[-1]["optin"]["one_time_notif_token"]
    await sandbox.advance(366 * DAY)
    status, answer, _ = await sandbox.graph({"recipient": {"one_time_notif_token": token}, "message": {"text": "x"}})
    assert error_of(answer) == (100, None) and "expired" in answer["error"]["message"]


async def test_private_reply_once_per_comment_within_7_days(sandbox: SandboxClient) -> None:
    psid = await sandbox.shopper()
    post = await sandbox.call("POST", "posts", {"message": "Live at 8", "live": True})
    comment = await sandbox.call("POST", f"posts/{post['post_id']}/comments", {"psid": psid, "message": "LIVE"})
    reply = {"recipient": {"comment_id": comment["comment_id"]}, "message": {"text": "Want reminders?"}}
    status, answer, _ = await sandbox.graph(reply)
    assert status == 200 and answer["recipient_id"] == psid
    entry = (await sandbox.inbox(psid))[-1]
    assert entry["via"] == "comment" and entry["comment_id"] == comment["comment_id"]
    status, answer, _ = await sandbox.graph(reply)
    assert status == 400 and error_of(answer) == (10, None)
    assert answer["error"]["message"] == "(#10) Only one private reply is allowed per comment"
    status, answer = await sandbox.send(psid)  # the private reply opened no window
    assert error_of(answer) == (10, 2018278)

    now = (await sandbox.call("GET", "clock"))["now_ms"]
    old = await sandbox.call("POST", f"posts/{post['post_id']}/comments",
                             {"psid": psid, "message": "LIVE", "timestamp": now - 8 * DAY * 1000})
    status, answer, _ = await sandbox.graph({"recipient": {"comment_id": old["comment_id"]},
                                             "message": {"text": "late"}})
    assert status == 400 and error_of(answer) == (10, None) and "7 days" in answer["error"]["message"]
    status, answer, _ = await sandbox.graph({"recipient": {"comment_id": "1_2"}, "message": {"text": "?"}})
    assert error_of(answer) == (100, 33)
