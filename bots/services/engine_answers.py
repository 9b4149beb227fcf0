"""The engine's pure functions: reading a customer's answer (a typed value, a button, a
rating), testing a condition on the collected attributes, the hand-off summary. No
database."""

from __future__ import annotations

import math
import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from bots.intents import normalize
from chat import safe_regex

PHONE_RE = re.compile(r"^\+?\d{6,15}$")
_PHONE_STRIP = re.compile(r"[\s\-.()/]")


def validate_input(validator: dict[str, Any] | None, body: str) -> tuple[bool, Any]:
    """(valid, normalised value) of a free-text answer."""
    value = body.strip()
    kind = (validator or {}).get("type", "text")
    if kind == "email":
        if len(value) > 254:
            return False, None
        try:
            validate_email(value)
        except DjangoValidationError:
            return False, None
        local, _, domain = value.rpartition("@")
        return True, f"{local}@{domain.lower()}"
    if kind == "phone":
        digits = _PHONE_STRIP.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        return (True, digits) if PHONE_RE.fullmatch(digits) else (False, None)
    if kind == "number":
        try:
            number = float(value.replace(",", ".").replace(" ", ""))
        except ValueError:
            return False, None
        if math.isnan(number) or math.isinf(number):
            return False, None
        low, high = validator.get("min"), validator.get("max")
        if (low is not None and number < low) or (high is not None and number > high):
            return False, None
        return True, int(number) if number.is_integer() else number
    if kind == "regex":
        try:  # RE2: linear time, whatever the flow's author wrote (chat.safe_regex)
            matched = safe_regex.fullmatch(validator["pattern"], value)
        except safe_regex.error:  # saved before RE2 and not valid under it
            return False, None
        return (True, value) if matched else (False, None)
    low = (validator or {}).get("min_length", 1)
    high = (validator or {}).get("max_length", 500)
    return (True, value) if low <= len(value) <= high else (False, None)


def input_hint(node: dict[str, Any]) -> dict[str, Any]:
    validator = node.get("validator") or {}
    kind = validator.get("type", "text")
    hint: dict[str, Any] = {"type": "text" if kind == "regex" else kind}
    if validator.get("hint"):
        hint["placeholder"] = validator["hint"]
    return hint


def match_button(buttons: list[dict], *, body: str, choice: str | None) -> dict | None:
    """The button a click (its id) or a typed answer (a label in any language, the id, or
    the button's number) designates."""
    if choice:
        for button in buttons:
            if button["id"] == choice:
                return button
    typed = normalize(body)
    if not typed:
        return None
    if typed.isdigit() and 1 <= int(typed) <= len(buttons):
        return buttons[int(typed) - 1]
    for button in buttons:
        labels = (
            button["label"].values() if isinstance(button["label"], dict) else [button["label"]]
        )
        if typed == normalize(button["id"]) or any(typed == normalize(lbl) for lbl in labels):
            return button
    return None


def rating(value: str | None) -> int | None:
    if not value:
        return None
    match = re.fullmatch(r"\s*([1-5])\s*(?:/\s*5)?\s*", value)
    return int(match.group(1)) if match else None


def condition_holds(cond: dict[str, Any], values: dict[str, Any]) -> bool:
    op = cond.get("op", "eq")
    present = cond["attribute"] in values and values[cond["attribute"]] not in (None, "")
    actual = values.get(cond["attribute"])
    expected = cond.get("value")
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected.lower() in actual.lower()
        return isinstance(actual, list) and expected in actual
    if op == "matches":
        if not isinstance(actual, str):
            return False
        try:
            return safe_regex.search(expected, actual)
        except safe_regex.error:
            return False
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    return {
        "gt": actual > expected,
        "gte": actual >= expected,
        "lt": actual < expected,
        "lte": actual <= expected,
    }[op]


def handoff_summary(collected: dict[str, Any], intent: str, queue: str | None) -> str:
    shown = [
        f"{k.replace('_', ' ')}: {v}"
        for k, v in collected.items()
        if v not in (None, "") and not k.endswith("_text")
    ]
    where = f" to {queue}" if queue else ""
    what = "; ".join(shown) if shown else "nothing"
    return f"The bot handed this conversation{where}. Collected: {what}."[:1000]
