"""Utility message templates as the sandbox plays them (messenger-platform.md §3.3, §9).

Meta's library (:data:`LIBRARY`, ``GET /message_template_library``: a few order-update templates)
and the Page's own templates (:class:`TemplateBook`, in Redis under the sandbox prefix). A created
template is APPROVED at once (Meta: "within seconds"). :func:`plan_utility` checks a utility send
against the book: the permission (the sandbox config switch ``page_utility_messaging``), a known
and APPROVED template, every named parameter given and none unknown; it renders the text the
shopper sees. The request shapes are [U] and read as ``bot/graph/utility.py`` builds them; the
error codes follow Meta's template errors on WhatsApp [U].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from ..keys import Keys
from .errors import GraphRefusal, refusal
from .ids import new_numeric_id
from .keys import SandboxKeys
from .ledger import text
from .rules import SendPlan
from .templates import bad

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")
PARAM_MAX = 1024

NO_PERMISSION = refusal(200, "(#200) Requires page_utility_messaging permission to manage the object")
TEMPLATE_UNKNOWN = refusal(100, "Template name does not exist in the translation", 2494010)
TEMPLATE_NOT_APPROVED = refusal(100, "Template is not approved and cannot be sent", 2494011)
PARAMS_MISMATCH = refusal(100, "Number of parameters does not match the expected number of params", 2494012)
TEMPLATE_EXISTS = refusal(100, "Message template already exists with this name and language", 2388024)

# Meta's pre-approved utility templates for order updates (a few; the real library is larger) [U].
LIBRARY: tuple[dict[str, Any], ...] = (
    {"id": "9100000000000001", "name": "order_confirmation", "language": "en_US", "category": "UTILITY",
     "topic": "order_management", "body": "Hi, your order {{order_id}} is confirmed. Total: {{total}}."},
    {"id": "9100000000000002", "name": "order_shipped", "language": "en_US", "category": "UTILITY",
     "topic": "shipping", "body": "Good news: your order {{order_id}} has shipped. Track it: {{tracking_url}}"},
    {"id": "9100000000000003", "name": "order_delivered", "language": "en_US", "category": "UTILITY",
     "topic": "shipping", "body": "Your order {{order_id}} was delivered."},
    {"id": "9100000000000004", "name": "order_cancelled", "language": "en_US", "category": "UTILITY",
     "topic": "order_management", "body": "Your order {{order_id}} was cancelled."},
)


def placeholders(body: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def library(search: str = "", language: str = "") -> list[dict[str, Any]]:
    """Meta's templates matching a word of their name or body and a language (both optional)."""
    word = search.lower()
    return [{**t, "parameters": placeholders(t["body"])} for t in LIBRARY
            if (not word or word in t["name"] or word in t["body"].lower())
            and (not language or t["language"] == language)]


@dataclass(frozen=True, slots=True)
class NewTemplate:
    name: str
    language: str
    body: str


def check_new_template(body: Any) -> NewTemplate | GraphRefusal:
    """A ``POST /{page-id}/message_templates`` body (shape [U], ``bot/graph/utility.py``)."""
    if not isinstance(body, dict):
        return bad("The request body must be a JSON object")
    name, language = body.get("name"), body.get("language")
    if not isinstance(name, str) or not NAME.match(name):
        return bad("Param name must be 1-512 lower-case letters, digits and underscores")
    if not isinstance(language, str) or not language:
        return bad("Param language is required")
    if body.get("category") != "UTILITY":
        return bad("Param category must be UTILITY")
    components = body.get("components")
    texts = [c for c in components if isinstance(c, dict) and c.get("type") == "BODY"] \
        if isinstance(components, list) else []
    if len(texts) != 1 or not isinstance(texts[0].get("text"), str) or not texts[0]["text"].strip():
        return bad("Param components must hold one BODY component with a text")
    text_body = texts[0]["text"]
    example = texts[0].get("example")
    named = example.get("body_text_named_params") if isinstance(example, dict) else None
    given = {e.get("param_name") for e in named if isinstance(e, dict) and e.get("example")} \
        if isinstance(named, list) else set()
    missing = [p for p in placeholders(text_body) if p not in given]
    if missing:
        return bad("An example is required for each named parameter: " + ", ".join(missing))
    return NewTemplate(name, language, text_body)


class TemplateBook:
    """The Page's own templates: HASH ``<name>:<language>`` -> JSON (id, name, language, status, body)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = SandboxKeys.of(keys).sandbox_message_templates

    async def all(self) -> list[dict[str, Any]]:
        rows = await self._redis.hgetall(self._key)
        return sorted((json.loads(text(v)) for v in rows.values()), key=lambda t: (t["name"], t["language"]))

    async def get(self, name: str, language: str) -> dict[str, Any] | None:
        raw = await self._redis.hget(self._key, f"{name}:{language}")
        return json.loads(text(raw)) if raw is not None else None

    async def create(self, new: NewTemplate) -> dict[str, Any] | None:
        """The created template (APPROVED at once), or None when one of that name and language exists."""
        template = {"id": new_numeric_id(), "name": new.name, "language": new.language, "category": "UTILITY",
                    "status": "APPROVED", "body": new.body, "parameters": placeholders(new.body)}
        added = await self._redis.hsetnx(self._key, f"{new.name}:{new.language}", json.dumps(template))
        return template if added else None

    async def set_status(self, name: str, status: str) -> list[dict[str, Any]]:
        """Every language of the named template, with its new status (none if there is no such template)."""
        changed = []
        for template in await self.all():
            if template["name"] == name:
                template["status"] = status
                await self._redis.hset(self._key, f"{name}:{template['language']}", json.dumps(template))
                changed.append(template)
        return changed


def template_of_send(body: dict[str, Any]) -> tuple[str, str, dict[str, str]] | GraphRefusal:
    """Name, language and named parameters of a utility send (shape [U]); a malformed one is refused."""
    message = body.get("message")
    template = message.get("template") if isinstance(message, dict) else None
    if not isinstance(template, dict):
        return bad("Param message[template] is required for messaging_type UTILITY")
    name, language = template.get("name"), template.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
        return bad("Param message[template] needs a name and language[code]")
    params: dict[str, str] = {}
    for component in template.get("components") or []:
        for p in (component.get("parameters") or []) if isinstance(component, dict) else []:
            key, value = (p.get("parameter_name"), p.get("text")) if isinstance(p, dict) else (None, None)
            if not isinstance(key, str) or not isinstance(value, str) or not value or len(value) > PARAM_MAX:
                return bad(f"Each template parameter needs a parameter_name and a text of 1-{PARAM_MAX} characters")
            params[key] = value
    return name, code, params


def plan_utility(body: dict[str, Any], template: dict[str, Any] | None, permitted: bool) -> SendPlan | GraphRefusal:
    """A utility send against the Page's template (None: unknown): checked, and rendered as the shopper sees it."""
    if not permitted:
        return NO_PERMISSION
    recipient = body.get("recipient")
    psid = recipient.get("id") if isinstance(recipient, dict) and len(recipient) == 1 else None
    if not isinstance(psid, str) or not psid:
        return bad("A utility message goes to recipient.id only")
    found = template_of_send(body)
    if isinstance(found, GraphRefusal):
        return found
    _, _, params = found
    if template is None:
        return TEMPLATE_UNKNOWN
    if template["status"] != "APPROVED":
        return TEMPLATE_NOT_APPROVED
    if set(params) != set(template["parameters"]):
        return PARAMS_MISMATCH
    rendered = PLACEHOLDER.sub(lambda m: params[m.group(1)], template["body"])
    message: dict[str, Any] = {"text": rendered, "template": template["name"]}
    metadata = body["message"].get("metadata")
    if isinstance(metadata, str) and metadata:
        message["metadata"] = metadata
    return SendPlan("psid", psid, message, "none", "UTILITY", None, None)
