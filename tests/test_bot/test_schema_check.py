"""The admin API's schema subset: each rule refuses what it should, names the field and the rule, and a
schema using a keyword nobody checks is refused when the route is declared."""

from __future__ import annotations

from typing import Any

import pytest

from bot.admin import AdminApi
from bot.schema_check import closed, normalised, violation

ORDER: dict[str, Any] = closed(normalised({
    "type": "object", "required": ["psid"],
    "properties": {
        "psid": {"type": "string", "pattern": "^[a-z0-9]{1,8}$"},
        "status": {"type": "string", "enum": ["packed", "shipped"]},
        "note": {"type": "string", "nullable": True, "maxLength": 5},
        "title": {"type": "string", "minLength": 1},
        "days": {"type": "integer", "minimum": 1, "maximum": 40},
        "url": {"type": "string", "format": "uri"},
        "at": {"type": "string", "format": "date-time"},
        "items": {"type": "array", "maxItems": 2, "items": {
            "type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}},
        "total": {"type": "object", "properties": {"amount": {"type": "number"}}},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
}))


def refused(value: dict[str, Any]) -> tuple[str, str, str]:
    found = violation(ORDER, value)
    assert found is not None, value
    return found.field, found.rule, found.message


@pytest.mark.parametrize(("value", "expected"), [
    ({}, ("psid", "required", "psid is required")),
    ({"psid": None}, ("psid", "type", "psid must be a string, not null")),
    ({"psid": "a", "schedule_at": "x"}, ("schedule_at", "additionalProperties", "unknown field schedule_at")),
    ({"psid": "A B"}, ("psid", "pattern", "psid must match ^[a-z0-9]{1,8}$")),
    ({"psid": "abc\n"}, ("psid", "pattern", "psid must match ^[a-z0-9]{1,8}$")),  # $ is the end, as in ECMA-262
    ({"psid": "a", "status": "lost"}, ("status", "enum", "status must be one of packed, shipped")),
    ({"psid": "a", "note": "toolong"}, ("note", "maxLength", "note must be at most 5 characters")),
    ({"psid": "a", "title": ""}, ("title", "minLength", "title must not be empty")),
    ({"psid": "a", "days": 41}, ("days", "maximum", "days must be at most 40")),
    ({"psid": "a", "days": 0}, ("days", "minimum", "days must be at least 1")),
    ({"psid": "a", "days": True}, ("days", "type", "days must be a whole number, not boolean")),
    ({"psid": "a", "days": 1.5}, ("days", "type", "days must be a whole number, not number")),
    ({"psid": "a", "url": "not a url"}, ("url", "format", "url must be an absolute URI (https://...)")),
    ({"psid": "a", "at": "tomorrow"}, ("at", "format",
                                       "at must be an RFC 3339 date-time (2026-12-05T19:00:00+08:00)")),
    ({"psid": "a", "items": [{}]}, ("items[0].title", "required", "items[0].title is required")),
    ({"psid": "a", "items": [{"title": "x", "qty": 1}]}, ("items[0].qty", "additionalProperties",
                                                          "unknown field items[0].qty")),
    ({"psid": "a", "items": [{"title": "x"}] * 3}, ("items", "maxItems", "items must have at most 2 items")),
    ({"psid": "a", "total": {"amount": "12"}}, ("total.amount", "type", "total.amount must be a number, not string")),
    ({"psid": "a", "counts": {"x": "1"}}, ("counts.x", "type", "counts.x must be a whole number, not string")),
])
def test_each_rule_names_the_field_and_the_rule(value: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert refused(value) == expected


def test_what_the_schema_allows_passes() -> None:
    assert violation(ORDER, {"psid": "a1", "status": "packed", "note": None, "title": "x", "days": 40,
                             "url": "https://shop.test/live", "at": "2026-12-05T19:00:00+08:00",
                             "items": [{"title": "x"}], "total": {"amount": 12}, "counts": {"x": 1}}) is None


def test_nullable_is_written_as_a_null_type_for_openapi_3_1() -> None:
    assert normalised({"type": "string", "nullable": True, "enum": ["a"]}) == {"type": ["string", "null"],
                                                                              "enum": ["a", None]}
    assert ORDER["properties"]["note"]["type"] == ["string", "null"]
    assert ORDER["additionalProperties"] is False and ORDER["properties"]["items"]["items"]["additionalProperties"] \
        is False
    assert "additionalProperties" not in ORDER["properties"]["counts"]["additionalProperties"]


def test_a_rule_nobody_checks_is_refused_at_declaration() -> None:
    api = AdminApi()
    with pytest.raises(ValueError, match="oneOf"):
        api.route("POST", "/api/x", "x", body={"type": "object", "properties": {"a": {"oneOf": []}}})
    with pytest.raises(ValueError, match="format=email"):
        api.route("GET", "/api/x", "x", query=(("to", {"type": "string", "format": "email"}, False),))
