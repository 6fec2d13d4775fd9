"""The layout's rules, read from the source (issue 9): one storage layer, and ``bot/`` free of its plugins.

**One storage layer.** Redis is touched only by the store modules: each owns one concern's keys, TTLs
and scripts and offers typed methods (or ``stage_*`` steps that a caller runs together through
:mod:`bot.batched_reads`); everything else (the consumer, the dialogue, the admin API, the web app) asks
a store. A Redis call here is a call of a Redis command on a receiver named like a Redis client or a
pipeline (``redis``, ``self._redis``, ``runtime.redis``, ``pipe``), or ``register_script``; closing a
client (``aclose``) is not a command. A module that must talk to Redis is added to :data:`STORES` with
the concern it owns, which is a decision a reviewer sees.
"""

from __future__ import annotations

import ast
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "dialogue", "live_sales", "intents", "salebell")
PLUGINS = ("dialogue", "live_sales", "intents")

# The storage layer's plumbing: connecting, loading scripts, batching, stream groups, wiping a Page.
PLUMBING = {
    "bot/storage.py": "connecting to Redis (or Redis Cluster) and proving it answers",
    "bot/scripts.py": "loading Lua scripts (EVALSHA, EVAL on NOSCRIPT)",
    "bot/batched_reads.py": "running several stores' staged reads and writes in one round trip",
    "bot/read_bundle.py": "a batch's plain reads in one script call",
    "bot/script_batches.py": "one script's calls of one event-loop turn in one pipeline",
    "bot/streams.py": "creating and recreating stream consumer groups",
    "bot/page_wipe.py": "every key of one Page (tests, benchmarks)",
}

# Each store and the concern whose keys, TTLs and scripts it owns.
STORES = {
    "bot/clock.py": "the one clock (Redis TIME plus the sandbox's offset)",
    "bot/inbox.py": "the inbox stream and its splitter's cursor",
    "bot/dead_letters.py": "dead letters",
    "bot/queues.py": "per-shopper queues, leases, the window's raise",
    "bot/window_record.py": "the 24-hour window's record (reads)",
    "bot/pipeline_gauges.py": "the pipeline's gauges (/healthz, /metrics)",
    "bot/consent.py": "the consent ledger: subscriptions, OTN tokens, stops, unreachable, opt-in requests asked",
    "bot/shopper_regions.py": "shoppers' regions",
    "bot/outbox.py": "the outbox streams, send records, numbers",
    "bot/send_facts.py": "what one send needs to know, read in one script",
    "bot/send_retry.py": "send jobs due again later",
    "bot/send_claims.py": "a send worker's entries in hand (kept claimed) and its liveness mark",
    "bot/bucket_batches.py": "send limits (the token buckets' script, batched)",
    "bot/throttle.py": "the Page's send pause and slowdown",
    "bot/cancels.py": "cancelled campaigns' marks",
    "bot/tracking.py": "echoes and receipts",
    "bot/instagram_live.py": "the Instagram account's lives being broadcast (Meta's answer, kept 3 s)",
    "bot/utility_templates.py": "the Page's utility templates",
    "bot/dashboard/sessions.py": "dashboard sessions",
    "bot/sandbox/state.py": "the sandbox's shoppers, posts, comments and profile",
    "bot/sandbox/ledger.py": "the sandbox's sent log, receipts and config",
    "bot/sandbox/faults.py": "the sandbox's armed faults",
    "bot/sandbox/message_templates.py": "the sandbox's message templates",
    "dialogue/tracker_store.py": "dialogue trackers",
    "dialogue/facts.py": "the facts an action sees (read together)",
    "dialogue/handover.py": "human takeover pauses",
    "dialogue/thread_control.py": "thread control with the Page Inbox",
    "dialogue/needs_human.py": "conversations waiting for a person",
    "dialogue/conversation_log.py": "conversation logs during a takeover",
    "dialogue/followups.py": "opt-in follow-ups due",
    "dialogue/comment_gate.py": "one keyword private reply per shopper per post per day",
    "live_sales/store.py": "live sales and blasts",
    "live_sales/products.py": "a sale's products and stock",
    "live_sales/claims.py": "claims and their lots",
    "live_sales/fanout.py": "fan-out records, their recipient snapshots and leases",
    "live_sales/audience.py": "who a campaign would reach (reads of the ledger and the window), shoppers' names",
}

LIFECYCLE = {"aclose", "close", "connection_pool"}
COMMANDS = ({name for name in dir(Redis) if not name.startswith("_")} - LIFECYCLE - {
    "from_url", "from_pool", "client", "response_callbacks", "auto_close_connection_pool",
    "single_connection_client", "set_response_callback", "get_encoder", "get_connection_kwargs",
    "get_retry", "set_retry", "load_external_module", "initialize"}) | {"execute", "pipeline", "evalsha"}


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def is_client(receiver: ast.expr) -> bool:
    name = ast.unparse(receiver).lower()
    return "redis" in name or name.split(".")[-1] in ("pipe", "pipeline", "tx")


def redis_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "register_script":
            found.append(f"{node.lineno}: register_script")
        elif isinstance(func, ast.Attribute) and func.attr in COMMANDS and is_client(func.value):
            found.append(f"{node.lineno}: {ast.unparse(func)}")
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_module_outside_the_storage_layer_touches_redis() -> None:
    allowed = PLUMBING.keys() | STORES.keys()
    outside = {relative(p): calls for p in modules() if relative(p) not in allowed and (calls := redis_calls(p))}
    assert outside == {}, "these modules call Redis themselves; give the concern a store (tests/test_layout.py)"


def test_every_listed_store_exists_and_touches_redis() -> None:
    """A store that no longer calls Redis (its calls moved) leaves the list, so the list stays the truth."""
    idle = [m for m in PLUMBING.keys() | STORES.keys() if not (ROOT / m).exists() or not redis_calls(ROOT / m)]
    assert idle == []


def test_the_scan_sees_a_redis_call(tmp_path: Path) -> None:
    """The rule above can fail: a module calling a command on a client is found, a dict's ``get`` is not."""
    sample = tmp_path / "sample.py"
    sample.write_text("async def f(self, d):\n    d.get('x')\n    await self._redis.hget('k', 'f')\n"
                      "    async with self.redis.pipeline() as pipe:\n        pipe.zcard('z')\n")
    assert redis_calls(sample) == ["3: self._redis.hget", "4: self.redis.pipeline", "5: pipe.zcard"]


def plugin_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        found += [f"{node.lineno}: {n}" for n in names if n.split(".")[0] in PLUGINS]
    return found


def test_the_runtime_imports_no_plugin() -> None:
    """``bot/`` names no plugin: plugins build on it (entry point ``salebell.plugins``), never the reverse."""
    runtime = [p for p in modules() if relative(p).startswith("bot/")]
    assert {relative(p): found for p in runtime if (found := plugin_imports(p))} == {}


MAX_LINES = 300


def test_every_module_stays_under_300_lines() -> None:
    """Small modules with one job each: a module that grows past this is split along its seams."""
    long = {relative(p): n for p in modules() if (n := len(p.read_text().splitlines())) >= MAX_LINES}
    assert long == {}
