"""The admin API's JSON Schema subset: one declaration validates a request and describes it in ``/api/openapi.json``.

A route declares its body, query and path parameters as JSON Schema dicts (:meth:`bot.admin.AdminApi.route`);
:func:`violation` checks a value against such a schema before the handler runs, and the same dict is what the
OpenAPI 3.1 document shows, so the two cannot drift apart. The subset:

- ``type``: a name or a list of names (``["string", "null"]`` is nullable; ``nullable: true``, the OpenAPI 3.0
  spelling, is read as the same and rewritten by :func:`normalised`); ``integer`` excludes booleans and floats;
- objects: ``properties``, ``required``, ``additionalProperties`` (``false`` or a schema; request bodies are
  closed by :func:`closed`, so a misspelt field is refused rather than ignored);
- arrays: ``items``, ``minItems``, ``maxItems``;
- ``enum``, ``pattern`` (searched as ECMA-262 does, so anchor it: a final ``$`` is the very end),
  ``minLength``/``maxLength``, ``minimum``/``maximum``, ``format`` ``uri`` (an absolute URI without spaces)
  and ``date-time`` (RFC 3339: date, time and offset).

Keywords outside the subset that would be a rule (``oneOf``, ``exclusiveMinimum``...) are refused when the
route is declared (:func:`unsupported_keywords`): a schema never promises a check that nobody makes.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

Schema = dict[str, Any]

RULES = frozenset({"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                   "enum", "pattern", "minLength", "maxLength", "minimum", "maximum", "format", "nullable"})
NOTES = frozenset({"description", "title", "default", "example", "examples", "deprecated", "readOnly"})
FORMATS = frozenset({"uri", "date-time"})
TYPE_NAMES = {"string": "a string", "integer": "a whole number", "number": "a number", "boolean": "true or false",
              "array": "a list", "object": "an object", "null": "null"}
URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class SchemaViolation(Exception):
    """``field`` (``total.currency``, ``items[2].title``; empty for the whole value) breaks ``rule``."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def types_of(schema: Schema) -> list[str]:
    """The type names ``schema`` allows (none: any)."""
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else list(declared or [])
    if schema.get("nullable") and names and "null" not in names:
        names.append("null")
    return names


def _matches_type(value: Any, names: list[str]) -> bool:
    actual = _type_of(value)
    return not names or actual in names or (actual == "integer" and "number" in names)


def _label(field: str) -> str:
    return field or "the body"


def violation(schema: Schema, value: Any, field: str = "") -> SchemaViolation | None:
    """The first rule of ``schema`` that ``value`` breaks, or None when it conforms."""
    names = types_of(schema)
    if not _matches_type(value, names):
        wanted = " or ".join(TYPE_NAMES.get(n, n) for n in names)
        return SchemaViolation(field, "type", f"{_label(field)} must be {wanted}, not {_type_of(value)}")
    if value is None:
        return None
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join("null" if v is None else str(v) for v in schema["enum"])
        return SchemaViolation(field, "enum", f"{_label(field)} must be one of {allowed}")
    if isinstance(value, str):
        return _string_violation(schema, value, field)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return SchemaViolation(field, "minimum", f"{_label(field)} must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            return SchemaViolation(field, "maximum", f"{_label(field)} must be at most {schema['maximum']}")
        return None
    if isinstance(value, list):
        return _array_violation(schema, value, field)
    if isinstance(value, dict):
        return _object_violation(schema, value, field)
    return None


def _string_violation(schema: Schema, value: str, field: str) -> SchemaViolation | None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        what = "must not be empty" if schema["minLength"] == 1 else f"needs at least {schema['minLength']} characters"
        return SchemaViolation(field, "minLength", f"{_label(field)} {what}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return SchemaViolation(field, "maxLength", f"{_label(field)} must be at most {schema['maxLength']} characters")
    if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        return SchemaViolation(field, "pattern", f"{_label(field)} must match {schema['pattern']}")
    fmt = schema.get("format")
    if fmt == "uri" and not _is_uri(value):
        return SchemaViolation(field, "format", f"{_label(field)} must be an absolute URI (https://...)")
    if fmt == "date-time" and not _is_date_time(value):
        return SchemaViolation(field, "format", f"{_label(field)} must be an RFC 3339 date-time "
                                                "(2026-12-05T19:00:00+08:00)")
    return None


@lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as JSON Schema (ECMA-262) reads it: a final ``$`` is the end of the text, where Python's
    would also match before a final newline (``"abc\\n"`` would pass ``^[a-z]+$``)."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _is_uri(value: str) -> bool:
    if not value or any(c.isspace() or ord(c) < 32 or c in '<>"{}|\\^`' for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(URI_SCHEME.match(parts.scheme)) and bool(parts.netloc or parts.path)


def _is_date_time(value: str) -> bool:
    if not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _array_violation(schema: Schema, value: list[Any], field: str) -> SchemaViolation | None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        return SchemaViolation(field, "minItems", f"{_label(field)} needs at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return SchemaViolation(field, "maxItems", f"{_label(field)} must have at most {schema['maxItems']} items")
    items = schema.get("items")
    if isinstance(items, dict):
        for n, item in enumerate(value):
            found = violation(items, item, f"{field}[{n}]")
            if found:
                return found
    return None


def _object_violation(schema: Schema, value: dict[str, Any], field: str) -> SchemaViolation | None:
    prefix = f"{field}." if field else ""
    for name in schema.get("required", ()):
        if name not in value:
            return SchemaViolation(prefix + name, "required", f"{prefix}{name} is required")
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            found = violation(properties[name], item, prefix + name)
        elif extra is False:
            return SchemaViolation(prefix + name, "additionalProperties", f"unknown field {prefix}{name}")
        elif isinstance(extra, dict):
            found = violation(extra, item, prefix + name)
        else:
            found = None
        if found:
            return found
    return None


def normalised(schema: Schema) -> Schema:
    """A copy in JSON Schema 2020-12 terms (OpenAPI 3.1): ``nullable: true`` becomes a ``"null"`` type
    (and ``None`` in an ``enum``), recursively."""
    out: Schema = {}
    for key, value in schema.items():
        if key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: normalised(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = normalised(value)
        else:
            out[key] = value
    if schema.get("nullable"):
        names = types_of(schema)
        if names:
            out["type"] = names
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def closed(schema: Schema) -> Schema:
    """A copy where every object that lists ``properties`` and says nothing of others refuses them."""
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: closed(sub) for name, sub in out["properties"].items()}
        out.setdefault("additionalProperties", False)
    if isinstance(out.get("items"), dict):
        out["items"] = closed(out["items"])
    return out


def unsupported_keywords(schema: Schema, where: str = "") -> list[str]:
    """Keywords of ``schema`` (recursively) that are neither a rule of the subset nor a note for readers."""
    found = [f"{where}{key}" for key in schema if key not in RULES and key not in NOTES]
    if schema.get("format") not in (None, *FORMATS):
        found.append(f"{where}format={schema['format']}")
    for name, sub in schema.get("properties", {}).items():
        found += unsupported_keywords(sub, f"{where}{name}.")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += unsupported_keywords(schema[key], f"{where}{key}.")
    return found
