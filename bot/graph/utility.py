"""The request shapes of utility messages: one send, one template creation (messenger-platform.md §3.3, §9).

Meta documents utility messages for Messenger (template-based, the ``page_utility_messaging``
permission, templates from ``GET /message_template_library`` or the Page's own
``/{page-id}/message_templates``, approved "within seconds", the ``message_template_status_update``
webhook) but the platform notes do not give the body of a send or of a template creation.

**[U] Both shapes below are designed after Meta's template conventions (WhatsApp Cloud API
templates: ``name``, ``language.code``, ``components`` with named ``parameters``) and are not
confirmed for Messenger.** They live here only, so a correction is made in one place; the sandbox
(``bot/sandbox/templates_api.py``) reads the same shapes.

A send [U]::

    POST /{page-id}/messages
    {"recipient": {"id": "<PSID>"}, "messaging_type": "UTILITY",
     "message": {"template": {"name": "salebell_order_shipped", "language": {"code": "en_US"},
                              "components": [{"type": "body", "parameters": [
                                  {"type": "text", "parameter_name": "order_id", "text": "A-1"}, ...]}]}}}

A template [U]::

    POST /{page-id}/message_templates
    {"name": "...", "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED",
     "components": [{"type": "BODY", "text": "Your order {{order_id}} has shipped. ...",
                     "example": {"body_text_named_params": [{"param_name": "order_id", "example": "A-1"}]}}]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .payloads import PayloadError

Json = dict[str, Any]

UTILITY_MESSAGING_TYPE = "UTILITY"  # [U]
APPROVED = "APPROVED"
LANGUAGE = "en_US"  # the language of the templates salebell creates
CATEGORY = "UTILITY"
PARAM_MAX = 1024  # [U] WhatsApp's limit of one body parameter
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PLACEHOLDER = re.compile(r"\{\{([a-z][a-z0-9_]*)\}\}")


def placeholders(body: str) -> list[str]:
    """The named parameters of a template body, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


def render(body: str, params: Mapping[str, str]) -> str:
    """The text a shopper sees: the body with each ``{{name}}`` filled (an unknown one left as written)."""
    return PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), body)


def utility_send_body(psid: str, name: str, language: str, params: Mapping[str, str], *, metadata: str = "") -> Json:
    """The [U] Send API body of one utility message: the template by name and language, every named parameter;
    ``metadata`` (the job id, echoed back as for other sends, §3.4) beside the template [U]."""
    parameters = []
    for key, value in params.items():
        if not PARAM_NAME.match(key):
            raise PayloadError(f"template parameter name {key!r} must be lower-case letters, digits and _")
        if not isinstance(value, str) or not value.strip() or len(value) > PARAM_MAX:
            raise PayloadError(f"template parameter {key} must be 1-{PARAM_MAX} characters")
        parameters.append({"type": "text", "parameter_name": key, "text": value})
    message: Json = {"template": {"name": name, "language": {"code": language},
                                  "components": [{"type": "body", "parameters": parameters}]}}
    if metadata:
        message["metadata"] = metadata
    return {"recipient": {"id": psid}, "messaging_type": UTILITY_MESSAGING_TYPE, "message": message}


def template_create_body(name: str, language: str, body: str, examples: Mapping[str, str]) -> Json:
    """The [U] body of ``POST /{page-id}/message_templates``: a UTILITY template with named parameters."""
    names = placeholders(body)
    missing = [n for n in names if n not in examples]
    if missing:
        raise PayloadError("template examples missing for " + ", ".join(missing))
    return {"name": name, "language": language, "category": CATEGORY, "parameter_format": "NAMED",
            "components": [{"type": "BODY", "text": body, "example": {
                "body_text_named_params": [{"param_name": n, "example": examples[n]} for n in names]}}]}


@dataclass(frozen=True, slots=True)
class TemplateState:
    """One of the Page's templates as Meta last described it: name, id, review status, language."""

    name: str
    id: str
    status: str
    language: str = LANGUAGE

    @property
    def approved(self) -> bool:
        return self.status == APPROVED

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "id": self.id, "status": self.status, "language": self.language}


def template_of(raw: Any, *, name: str = "", language: str = "") -> TemplateState | None:
    """A template from a Graph answer (a list item, or a creation's ``{id, status}``), or None if it is not one."""
    if not isinstance(raw, Mapping):
        return None
    template_id, status = raw.get("id"), raw.get("status")
    raw_name, raw_language = raw.get("name"), raw.get("language")
    name = raw_name if isinstance(raw_name, str) else name
    language = raw_language if isinstance(raw_language, str) else language
    if not isinstance(template_id, (str, int)) or not isinstance(status, str) or not name:
        return None
    return TemplateState(name, str(template_id), status.upper(), language or LANGUAGE)
