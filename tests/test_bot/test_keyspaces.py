"""The Redis keyspaces: the runtime's (``bot/keys.py``) and each plugin's (the sandbox's, the live-sale
domain's, the dialogue's), which extend it.

Key names are data in a deployed Redis: a renamed key orphans what a running shop has stored (a sale, a
tracker, a claim). The plugin keys moved out of ``bot/keys.py`` are pinned here with the names they had
there. Every name of every keyspace carries the Page's hash tag (one Redis Cluster slot per Page, which
every multi-key script relies on), and no two builders name the same key.
"""

from __future__ import annotations

import inspect

import pytest
from redis.crc import key_slot

from bot.keys import Keys
from bot.sandbox.keys import SandboxKeys
from dialogue.keys import DialogueKeys
from live_sales.keys import SaleKeys

PAGE = "42"
KEYSPACES: list[type[Keys]] = [Keys, SandboxKeys, SaleKeys, DialogueKeys]

# The names these builders gave in bot/keys.py before they moved to their plugins (Page "42", argument "x").
SANDBOX_NAMES = {
    "sandbox_comment": "sb:{42}:sandbox:comment:x",
    "sandbox_config": "sb:{42}:sandbox:config",
    "sandbox_fault_calls": "sb:{42}:sandbox:fault-calls",
    "sandbox_faults": "sb:{42}:sandbox:faults",
    "sandbox_inbox": "sb:{42}:sandbox:inbox:x",
    "sandbox_message_templates": "sb:{42}:sandbox:message-templates",  # built inline before
    "sandbox_live_video": "sb:{42}:sandbox:live:x",
    "sandbox_nm_token": "sb:{42}:sandbox:nmt:x",
    "sandbox_nm_tokens_of": "sb:{42}:sandbox:nmt-of:x",
    "sandbox_optin_requests": "sb:{42}:sandbox:optreq:x",
    "sandbox_otn_token": "sb:{42}:sandbox:otn:x",
    "sandbox_post": "sb:{42}:sandbox:post:x",
    "sandbox_prefix": "sb:{42}:sandbox:",
    "sandbox_profile": "sb:{42}:sandbox:profile",
    "sandbox_rate": "sb:{42}:sandbox:rate:x",
    "sandbox_receipts": "sb:{42}:sandbox:receipts",
    "sandbox_said": "sb:{42}:sandbox:said:x",
    "sandbox_sent": "sb:{42}:sandbox:sent",
    "sandbox_shopper": "sb:{42}:sandbox:shopper:x",
    "sandbox_shoppers": "sb:{42}:sandbox:shoppers",
    "sandbox_subscribed_fields": "sb:{42}:sandbox:subscribed-fields",
}
SALE_NAMES = {
    "broadcast": "sb:{42}:bc:x",
    "broadcast_seq": "sb:{42}:bc:seq",
    "broadcasts_all": "sb:{42}:bc:all",
    "claim": "sb:{42}:ls:claim:x",
    "claim_lot": "sb:{42}:ls:lot:x:x",
    "claim_lot_pending": "sb:{42}:ls:lot-pending:x:x",
    "claim_numbers": "sb:{42}:ls:claim-numbers:x",
    "claims_due": "sb:{42}:ls:claims-due",
    "claims_holds": "sb:{42}:ls:claims-holds",
    "claims_unanswered": "sb:{42}:ls:claims-unanswered",
    "fanout": "sb:{42}:fo:x",
    "fanout_lease": "sb:{42}:fo-lease:x",
    "fanout_recipients": "sb:{42}:fo-rcpt:x",
    "fanouts_active": "sb:{42}:fo-active",
    "live_sale": "sb:{42}:ls:sale:x",
    "live_sale_links": "sb:{42}:ls:links",
    "live_sale_seq": "sb:{42}:ls:seq",
    "live_sales_all": "sb:{42}:ls:all",
    "live_sales_live": "sb:{42}:ls:live",
    "live_sales_scheduled": "sb:{42}:ls:scheduled",
    "sale_claims": "sb:{42}:ls:claims:x",
    "sale_products": "sb:{42}:ls:products:x",
    "sale_stock": "sb:{42}:ls:stock:x",
    "sale_taken": "sb:{42}:ls:taken:x",
    "shopper_names": "sb:{42}:ls:names",
}
DIALOGUE_NAMES = {
    "conversation": "sb:{42}:dlg:conv:x",
    "conversations": "sb:{42}:dlg:convs",
    "fallback_answered": "sb:{42}:dlg:fallback-at",
    "followups": "sb:{42}:dlg:followups",
    "followups_claimed": "sb:{42}:dlg:followups-claimed",
    "human_paused": "sb:{42}:dlg:paused",
    "needs_human": "sb:{42}:dlg:needs-human",
    "thread_passed": "sb:{42}:dlg:thread-passed",
    "tracker": "sb:{42}:dlg:tracker:x",
}


def builders(keyspace: type[Keys]) -> dict[str, str]:
    """Every key a keyspace defines itself (not inherited), built for Page 42 with "x" for each argument."""
    keys = keyspace(PAGE)
    built = {}
    for name, member in vars(keyspace).items():
        if name.startswith("_") or name in ("of", "prefix", "page_id"):
            continue
        if isinstance(member, property):
            built[name] = getattr(keys, name)
        elif inspect.isfunction(member):
            arity = len(inspect.signature(member).parameters) - 1
            built[name] = getattr(keys, name)(*["x"] * arity)
    return built


@pytest.mark.parametrize(("keyspace", "pinned"), [(SandboxKeys, SANDBOX_NAMES), (SaleKeys, SALE_NAMES),
                                                  (DialogueKeys, DIALOGUE_NAMES)])
def test_a_plugin_key_keeps_the_name_it_had_in_the_runtime(keyspace: type[Keys], pinned: dict[str, str]) -> None:
    built = builders(keyspace)
    assert {name: built[name] for name in pinned} == pinned


def test_no_plugin_key_is_left_in_the_runtime_keyspace() -> None:
    runtime = set(builders(Keys))
    for keyspace in (SandboxKeys, SaleKeys, DialogueKeys):
        assert not runtime & set(builders(keyspace)), keyspace.__name__


def test_every_key_of_every_keyspace_is_in_the_page_slot() -> None:
    slot = key_slot(PAGE.encode())
    for keyspace in KEYSPACES:
        for name, key in builders(keyspace).items():
            assert key.startswith("sb:{" + PAGE + "}:"), (keyspace.__name__, name, key)
            assert key_slot(key.encode()) == slot, (keyspace.__name__, name, key)


def test_no_two_builders_name_the_same_key() -> None:
    seen: dict[str, str] = {}
    for keyspace in KEYSPACES:
        for name, key in builders(keyspace).items():
            assert key not in seen, f"{keyspace.__name__}.{name} and {seen.get(key)} both name {key}"
            seen[key] = f"{keyspace.__name__}.{name}"


def test_a_plugin_keyspace_is_made_from_the_pages_keys() -> None:
    keys = Keys(PAGE)
    sale = SaleKeys.of(keys)
    assert sale.page_id == PAGE and sale.window == keys.window  # the runtime's keys, and its own
    assert SaleKeys.of(sale) is sale
    assert DialogueKeys.of(sale).tracker("x") == DIALOGUE_NAMES["tracker"]
