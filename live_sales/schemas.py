"""JSON schemas of the live-sale admin routes: they validate the requests (:mod:`bot.schema_check`) and are
what ``/api/openapi.json`` shows. A field the API may answer as ``null`` is declared so."""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
MAYBE_STR: Schema = {"type": ["string", "null"]}
MAYBE_TIME: Schema = {"type": ["string", "null"], "description": "ISO 8601 UTC; null: not happened (yet)"}
STR_LIST: Schema = {"type": "array", "items": STR}
COUNTS: Schema = {"type": "object", "additionalProperties": INT}

PSID_PATTERN = "^[A-Za-z0-9_-]{1,64}$"
TOPIC_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"
ORDER_ID_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
NOT_BLANK = r"\S"  # at least one character that is not a space
MAX_REMINDER_MINUTES = 7 * 24 * 60
MAX_LINKED_POSTS = 20

PSID: Schema = {"type": "string", "pattern": PSID_PATTERN, "description": "a page-scoped id"}
TOPIC: Schema = {"type": "string", "pattern": TOPIC_PATTERN,
                 "description": "whose subscribers (default: OPTIN_TOPIC); 1-64 letters, digits or _.:-"}
URL: Schema = {"type": "string", "format": "uri", "maxLength": 2000,
               "description": "an https:// link (a button's; Messenger refuses others)"}
IDS: Schema = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100}}

SALE_IN: Schema = {
    "type": "object", "required": ["title"],
    "properties": {
        "title": {"type": "string", "pattern": NOT_BLANK, "description": "not blank"},
        "url": {**URL, "description": "where shoppers join (a Watch now button)"},
        "topic": TOPIC,
        "scheduled_at": {**STR, "description": "ISO 8601 (2026-12-05T19:00, or with Z or an offset); no offset: "
                                               "the shop's time zone (SHOP_TIMEZONE); not in the past"},
        "post_ids": {**IDS, "description": "posts or live videos whose comments belong to the sale"},
        "products": IDS,
        "reminder_minutes": {**INT, "minimum": 0, "maximum": MAX_REMINDER_MINUTES,
                             "description": "send \"Starting in …\" this long before scheduled_at (0: none)"},
        "notify_at_start": {"type": "boolean", "description": "notify at the start too (default true)"},
    },
}

CHANNEL_NUMBERS: Schema = {
    "type": "object",
    "properties": {"queued": {**INT, "description": "a campaign's only (a day counts none)"},
                   "sent": INT, "delivered": INT, "read": INT, "skipped": COUNTS, "skipped_total": INT,
                   "failed": COUNTS, "failed_total": INT, "done": INT,
                   "pending": {**INT, "description": "a campaign's only: queued, no final outcome yet"}},
}
CHANNELS: Schema = {
    "type": "object", "additionalProperties": CHANNEL_NUMBERS,
    "description": "the same numbers per channel that has any (messenger, instagram); Instagram's read is its "
                   "seen (no delivery receipts there)",
}
NUMBERS: Schema = {
    "type": "object",
    "properties": {
        "eligible": INT, "queued": INT, "sent": INT, "delivered": INT, "read": INT,
        "skipped": COUNTS, "skipped_total": INT, "failed": COUNTS, "failed_total": INT, "done": INT, "pending": INT,
        "channels": CHANNELS,
    },
}
FANOUT: Schema = {
    "type": "object",
    "properties": {"state": {"enum": ["none", "running", "done", "cancelled"]}, "phase": MAYBE_STR, "eligible": INT,
                   "complete": {"type": "boolean"}},
}

CLAIM_NUMBERS: Schema = {
    "type": "object",
    "description": "what the claim comments did (live_sales/claim_numbers.py) and what became of their answers",
    "properties": {
        "comments": INT, "claimed": INT, "waitlisted": INT, "promoted": INT, "paid": INT, "cancelled": INT,
        "duplicates": INT, "asked_variant": INT, "released": COUNTS, "released_total": INT,
        "answers": {"type": "object", "properties": {**{n: INT for n in ("queued", "sent", "delivered", "read",
                                                                            "pending")}, "channels": CHANNELS}},
        "unanswered": {**COUNTS, "description": "answers not sent, by reason (skipped before any call or failed)"},
        "unanswered_total": INT,
    },
}

SALE: Schema = {
    "type": "object",
    "properties": {
        "id": STR, "title": STR, "url": STR, "topic": STR, "status": {"enum": ["scheduled", "live", "ended"]},
        "scheduled_at": MAYBE_TIME, "scheduled_ms": INT, "post_ids": STR_LIST, "products": STR_LIST,
        "video_id": MAYBE_STR, "created_at": MAYBE_TIME, "started_at": MAYBE_TIME, "ended_at": MAYBE_TIME,
        "started_by": {**MAYBE_STR, "description": "api, cli, or the live video that started it"},
        "fanout": FANOUT, "numbers": NUMBERS, "reminder_minutes": INT, "notify_at_start": {"type": "boolean"},
        "reminded_at": MAYBE_TIME, "claims": CLAIM_NUMBERS,
        "reminder": {"type": "object", "description": "the reminder's campaign (with reminder_minutes)",
                     "properties": {"fanout": FANOUT, "numbers": NUMBERS}},
    },
}
SALE_LIST: Schema = {"type": "object", "properties": {"live_sales": {"type": "array", "items": SALE}}}
TRANSITION: Schema = {
    "type": "object",
    "properties": {"changed": {"type": "boolean"}, "outcome": STR, "live_sale": SALE},
}

BROADCAST_IN: Schema = {
    "type": "object", "required": ["text"],
    "properties": {"text": {"type": "string", "pattern": NOT_BLANK, "description": "not blank"}, "topic": TOPIC,
                   "url": {**URL, "description": "the button's link (needed with button_title)"},
                   "button_title": {**STR, "maxLength": 20}},
}
BROADCAST: Schema = {
    "type": "object",
    "properties": {"id": STR, "topic": STR, "text": STR, "url": MAYBE_STR, "button_title": MAYBE_STR,
                   "created_at": MAYBE_TIME,
                   "fanout": FANOUT, "numbers": NUMBERS},
}
BROADCAST_LIST: Schema = {"type": "object", "properties": {"broadcasts": {"type": "array", "items": BROADCAST}}}
CANCELLED: Schema = {"type": "object", "properties": {"cancelled": {"type": "boolean"}, "campaign": STR}}

ORDER_IN: Schema = {
    "type": "object", "required": ["psid", "order_id"],
    "description": "a status (rendered from a template; may go outside the 24-hour window with the "
                   "POST_PURCHASE_UPDATE tag) and/or a note in the shop's own words (inside the window only)",
    "properties": {
        "psid": PSID, "order_id": {"type": "string", "pattern": ORDER_ID_PATTERN},
        "status": {"type": "string", "enum": ["confirmed", "packed", "shipped", "out_for_delivery",
                                              "ready_for_pickup", "delivered", "cancelled", "refunded"]},
        "items": {"type": "array", "maxItems": 20, "items": {
            "type": "object", "required": ["title"],
            "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 80},
                           "quantity": {"type": "integer", "minimum": 1, "maximum": 999}}}},
        "total": {"type": "object", "required": ["amount", "currency"],
                  "properties": {"amount": {"type": "number", "minimum": 0},
                                 "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}},
        "tracking_url": URL,
        "note": {"type": "string", "description": "inside the window only (422 outside it)"},
        "text": {"type": "string", "description": "the older name of note"},
        "topic": TOPIC,
        "confirmed": {"type": "boolean", "description": "offer the opt-in card if the window allows"}},
}
ORDER_OUT: Schema = {
    "type": "object",
    "properties": {"job_id": STR, "queued": {"type": "boolean"}, "optin_offered": {"type": "boolean"},
                   "optin_job_id": STR, "optin_queued": {"type": "boolean"}, "optin_reason": STR},
}

DAY: Schema = {
    "type": "object",
    "properties": {"day": STR, "sent": INT, "delivered": INT, "read": INT, "failed": COUNTS, "failed_total": INT,
                   "skipped": COUNTS, "skipped_total": INT, "never_opted_in": INT, "channels": CHANNELS},
}
STATS: Schema = {
    "type": "object",
    "properties": {"days": {"type": "array", "items": DAY}, "totals": {"type": "object"},
                   "warnings": STR_LIST},
}

PREVIEW_IN: Schema = {
    "type": "object",
    "properties": {"topic": TOPIC, "text": STR, "url": URL, "button_title": {**STR, "maxLength": 20}},
}
PREVIEW: Schema = {
    "type": "object",
    "properties": {
        "topic": STR, "checked_at": {**STR, "format": "date-time"},
        "recipients": {**INT, "description": "subscribers and OTN holders of the topic (the fan-out's snapshot)"},
        "reached": {**INT, "description": "recipients the policy lets through now"},
        "by_route": {**COUNTS, "description": "reached, by first route: psid (in the window), marketing_api, "
                                              "marketing_legacy, otn"},
        "skipped": {**COUNTS, "description": "recipients the policy refuses, by reason"}, "skipped_total": INT,
        "never_opted_in_7_days": {**INT, "description": "shoppers active in the last 7 days with no consent"},
        "not_predicted": {**STR_LIST, "description": "reasons only decided when sending (limits)"},
        "message_problem": {**MAYBE_STR, "description": "why Messenger would refuse the message"},
    },
}
QUIET_SHOPPER: Schema = {
    "type": "object",
    "properties": {"psid": STR, "name": MAYBE_STR, "last_action_ms": INT,
                   "last_action_at": {**STR, "format": "date-time"}},
}
NOT_OPTED_IN: Schema = {
    "type": "object",
    "properties": {"topic": STR, "days": INT, "count": INT, "shoppers": {"type": "array", "items": QUIET_SHOPPER}},
}
SHOPPER_NAMES: Schema = {
    "type": "object",
    "properties": {"shoppers": {"type": "array", "items": {
        "type": "object", "properties": {"psid": STR, "name": MAYBE_STR}}}},
}

VARIANT_IN: Schema = {"type": "object", "required": ["name", "quantity"],
                      "properties": {"name": {**STR, "pattern": "^[A-Za-z]{1,10}$"},
                                     "quantity": {**INT, "minimum": 0, "maximum": 100000}}}
PRODUCT_IN: Schema = {
    "type": "object", "required": ["code", "title"],
    "description": "quantity for a product without variants, else quantity per variant",
    "properties": {
        "code": {**STR, "pattern": "^(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{1,16}$",
                 "description": "what shoppers comment: SOLD <code>"},
        "title": {**STR, "minLength": 1, "maxLength": 80}, "price": {"type": "number", "minimum": 0},
        "currency": {**STR, "pattern": "^[A-Z]{3}$"}, "image_url": {**STR, "format": "uri"},
        "quantity": {**INT, "minimum": 0, "maximum": 100000},
        "variants": {"type": "array", "minItems": 1, "maxItems": 30, "items": VARIANT_IN},
    },
}
PRODUCTS_IN: Schema = {  # one product, or {"products": [...]}: either way each product is checked as PRODUCT_IN
    "type": "object", "description": "one product (code, title, ...), or {products: [...]} to add several at once",
    "properties": {**PRODUCT_IN["properties"],
                   "products": {"type": "array", "minItems": 1, "maxItems": 200, "items": PRODUCT_IN}},
}
STOCK_ROW: Schema = {"type": "object", "properties": {"name": STR, "quantity": INT, "taken": INT, "left": INT}}
PRODUCT: Schema = {
    "type": "object",
    "properties": {"code": STR, "title": STR, "price": {"type": "number", "nullable": True},
                   "currency": {**STR, "nullable": True}, "image_url": {**STR, "nullable": True},
                   "variants": {"type": "array", "items": STOCK_ROW}, "quantity": INT,
                   "taken": {**INT, "description": "units held by claimed and paid claims"},
                   "left": {**INT, "description": "quantity - taken, never below 0"}},
}
PRODUCT_LIST: Schema = {"type": "object", "properties": {"sale_id": STR, "products": {"type": "array",
                                                                                       "items": PRODUCT}}}
STOCK_IN: Schema = {"type": "object", "required": ["quantity"],
                    "properties": {"quantity": {**INT, "minimum": 0, "maximum": 100000},
                                   "variant": {**STR, "description": "needed for a product with variants"}}}
CLAIM_STATUS: Schema = {"enum": ["pending", "claimed", "waitlisted", "released", "paid", "cancelled"]}
CLAIM: Schema = {
    "type": "object",
    "properties": {
        "claim_id": {**STR, "description": "the comment's id"}, "sale_id": STR,
        "psid": {**STR, "description": "the commenter's id as the feed webhook gives it"},
        "name": {**STR, "nullable": True}, "code": STR, "variant": {**STR, "nullable": True}, "quantity": INT,
        "status": CLAIM_STATUS,
        "reason": {"enum": ["comment_deleted", "hold_expired", "unreachable", "host", None], "nullable": True,
                   "description": "why a claim was released or cancelled"},
        "answer": {"enum": ["claimed", "waitlisted", "promoted", None], "nullable": True,
                   "description": "what the shopper was told: promoted is a freed unit, told by PSID"},
        "promoted_ms": {**INT, "nullable": True},
        "waitlist_position": {**INT, "nullable": True}, "comment_ms": INT,
        "comment_at": {**STR, "format": "date-time"}, "arrived_ms": INT, "decided_ms": {**INT, "nullable": True},
        "message": {**STR, "nullable": True}, "changed": {"type": "boolean"},
        "order_update": {**ORDER_OUT, "description": "the order confirmation queued (PATCH with confirm)"},
    },
}
CLAIM_LIST: Schema = {"type": "object", "properties": {"sale_id": STR, "counts": COUNTS,
                                                       "claims": {"type": "array", "items": CLAIM}}}
CLAIM_CHANGE: Schema = {"type": "object", "required": ["status"], "properties": {
    "status": {"enum": ["paid", "cancelled"]},
    "confirm": {"type": "boolean", "description": "with paid: send the shopper the order confirmation (an order "
                                                  "update, confirmed, of order claim-<claim id>; default false)"}}}
LINKS_IN: Schema = {"type": "object", "required": ["post_ids"], "properties": {
    "post_ids": {**IDS, "minItems": 1, "maxItems": MAX_LINKED_POSTS}}}

LIMIT_DAYS: Schema = {"type": "integer", "minimum": 1, "description": "how many days back, today included"}
