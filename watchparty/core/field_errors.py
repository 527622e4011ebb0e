"""A request's validation errors as sentences a person can act on, one per field, with the check's machine code.

Pydantic says "String should have at least 3 characters"; a person filling a form needs "Enter your email
address". Each detail keeps the machine-readable parts a client translates from (`code`, the failed check, and
`limit`, its number), and says the sentence in English (docs/architecture.md, "Errors")."""

from __future__ import annotations

import re
from typing import Any

# A field's name in a sentence, where splitting its camelCase name reads badly.
_LABELS = {
    "email": "email address",
    "displayName": "name",
    "videoUrl": "video address",
    "posterUrl": "poster address",
    "url": "address",
    "movieId": "movie",
    "inviteToken": "invite",
    "q": "search",
}
# What to say when the field is left empty, where "Enter your …" is not the right verb.
_MISSING = {
    "email": "Enter your email address.",
    "password": "Enter your password.",
    "username": "Choose a username.",
    "displayName": "Enter the name others will see.",
    "name": "Give it a name.",
    "text": "Write something first.",
}
_LIMITS = ("min_length", "max_length", "ge", "le", "gt", "lt")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def label_of(field: str) -> str:
    """`inviteToken` → "invite"; `slowModeSeconds` → "slow mode seconds"."""
    last = field.rsplit(".", 1)[-1]
    return _LABELS.get(last) or _CAMEL.sub(" ", last).lower()


def detail_of(field: str, error: dict[str, Any]) -> dict[str, Any]:
    """One entry of a 422's `details`: `field`, `code` (pydantic's error type, e.g. `string_too_short`; `missing`
    for a field left empty), `message` (a sentence), and `limit` when the check has a number."""
    kind = str(error.get("type", "value_error"))
    if kind in ("string_too_short", "value_error") and error.get("input") == "":
        kind = "missing"  # an empty field is a missing answer, whatever check found it
    ctx = error.get("ctx") or {}
    limit = next((ctx[k] for k in _LIMITS if isinstance(ctx.get(k), int | float)), None)
    detail: dict[str, Any] = {"field": field, "code": kind, "message": _sentence(field, kind, error, limit)}
    if limit is not None:
        detail["limit"] = limit
    return detail


def _sentence(field: str, kind: str, error: dict[str, Any], limit: Any) -> str:
    last = field.rsplit(".", 1)[-1]
    label = label_of(field)
    if kind == "missing":
        return _MISSING.get(last, f"Enter the {label}.")
    if kind == "extra_forbidden":
        return f"“{last}” is not a field of this request."
    if last == "email" and kind in ("value_error", "string_too_short"):
        return "Enter a full email address, like name@example.com."
    sentences = {
        "string_too_short": f"The {label} needs at least {limit} characters.",
        "string_too_long": f"The {label} can be at most {limit} characters.",
        "too_short": f"The {label} needs at least {limit} items.",
        "too_long": f"The {label} can have at most {limit} items.",
        "greater_than_equal": f"The {label} must be {limit} or more.",
        "less_than_equal": f"The {label} must be {limit} or less.",
        "greater_than": f"The {label} must be more than {limit}.",
        "less_than": f"The {label} must be less than {limit}.",
        "int_parsing": f"The {label} must be a whole number.",
        "int_type": f"The {label} must be a whole number.",
        "int_from_float": f"The {label} must be a whole number.",
        "float_parsing": f"The {label} must be a number.",
        "float_type": f"The {label} must be a number.",
        "bool_parsing": f"The {label} must be true or false.",
        "bool_type": f"The {label} must be true or false.",
        "string_type": f"The {label} must be text.",
        "string_pattern_mismatch": f"The {label} is not in the expected form.",
        "datetime_parsing": f"The {label} must be a date and time, like 2026-12-01T20:00:00Z.",
        "model_type": "Send a JSON object." if field == "body" else f"The {label} must be an object.",
        "model_attributes_type": "Send a JSON object." if field == "body" else f"The {label} must be an object.",
        "dict_type": f"The {label} must be an object.",
        "list_type": f"The {label} must be a list.",
    }
    if kind in sentences:
        return sentences[kind]
    if kind in ("literal_error", "enum"):
        return f"The {label} must be one of: {ctx_text(error, 'expected')}."
    message = str(error.get("msg", "This value is not valid.")).removeprefix("Value error, ")
    return message if message.endswith((".", "?", "!")) else f"{message}."


def ctx_text(error: dict[str, Any], key: str) -> str:
    return str((error.get("ctx") or {}).get(key, "")).replace("'", "")
