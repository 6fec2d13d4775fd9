"""The admin API's OpenAPI 3.1 document, built from the declared routes (:class:`bot.admin.Operation`).

Its schemas are the ones that validate the requests (:mod:`bot.schema_check`), so the document says
what is enforced: request bodies closed, nullable fields as ``type: [..., "null"]``, every error in
the one shape (``Error``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dashboard.sessions import CSRF_HEADER
from .schema_check import Schema, types_of

if TYPE_CHECKING:
    from .admin import Operation

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ERROR: Schema = {
    "type": "object", "required": ["error"], "additionalProperties": False,
    "properties": {"error": {
        "type": "object", "required": ["status", "message"], "additionalProperties": False,
        "properties": {"status": {"type": "integer", "minimum": 400, "maximum": 599}, "message": {"type": "string"},
                       "field": {"type": "string", "description": "the field or parameter refused (422)"},
                       "rule": {"type": "string", "description": "the schema keyword it breaks (422): type, "
                                                                 "required, additionalProperties, enum, pattern..."}}}}}


def openapi_document(operations: list[Operation]) -> dict[str, Any]:
    """OpenAPI 3.1 (its schemas are JSON Schema 2020-12, so a nullable field is ``type: [..., "null"]``)."""
    def error(what: str) -> dict[str, Any]:
        schema = {"$ref": "#/components/schemas/Error"}
        return {"description": what, "content": {"application/json": {"schema": schema}}}

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        ok = {"application/json": {"schema": op.response or {"type": "object"}}}
        ok.update({media: {"schema": schema} for media, schema in op.other_media.items()})
        responses: dict[str, Any] = {
            str(op.status): {"description": "OK", "content": ok},
            "400": error("the body is not JSON, or no ?page= where the deployment serves several Pages"),
            "401": error("missing or wrong bearer token, or no live dashboard session"),
            "404": error("not found (an unknown ?page= too)"),
            "409": error("the state does not allow it"),
            "422": error("a parameter or field breaks its schema (field and rule say which) or a rule of the handler"),
            "503": error("storage unavailable (Redis not answering); Retry-After says when to try again"),
        }
        if op.method in STATE_CHANGING:
            responses["403"] = error("a dashboard session without its X-CSRF-Token")
        item: dict[str, Any] = {"summary": op.summary, "responses": responses}
        if op.body is not None:
            # an empty body reads as {}: required when the schema requires a field (then {} is a 422)
            item["requestBody"] = {"required": bool(op.body.get("required")),
                                   "content": {"application/json": {"schema": op.body}}}
        params = [{"name": p.strip("{}"), "in": "path", "required": True,
                   "schema": op.params.get(p.strip("{}"), {"type": "string"})}
                  for p in op.path.split("/") if p.startswith("{")]
        params += [{"name": n, "in": "query", "required": r, "schema": schema,
                    **({"style": "form", "explode": True} if types_of(schema) == ["array"] else {})}
                   for n, schema, r in op.query]
        params.append({"name": "page", "in": "query", "required": False, "schema": {"type": "string"},
                       "description": "the Page, by id; needed when the deployment serves several"})
        item["parameters"] = params
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "salebell admin API", "version": "1"},
        "components": {"schemas": {"Error": ERROR}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "salebell_session",
                        "description": "the dashboard's session (sign in at /dashboard/); state-changing "
                                       f"calls also need the session's {CSRF_HEADER} header"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
