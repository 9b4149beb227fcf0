"""The checks of a flow graph's fields (texts, ids, edges, validators, patterns, examples),
each reporting every problem with where it is; bots.graph_validation walks the graph."""

from __future__ import annotations

import math
from typing import Any

from bots.graph import ID_RE, LANG_RE, MAX_TEXT, VALIDATOR_KINDS
from chat import safe_regex


class Checker:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def text(self, path: str, value: Any, *, required: bool = True) -> None:
        if value is None or value == "" or value == {}:
            if required:
                self.err(path, "is required (a string, or an object of texts by language).")
            return
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                self.err(path, f"is longer than {MAX_TEXT} characters.")
            return
        if not isinstance(value, dict):
            self.err(path, "must be a string or an object of texts by language.")
            return
        for lang, text in value.items():
            if not isinstance(lang, str) or not LANG_RE.fullmatch(lang):
                self.err(f"{path}.{lang}", "is not a language code like 'en' or 'fr-ca'.")
            if not isinstance(text, str) or not text.strip():
                self.err(f"{path}.{lang}", "must be a non-empty string.")
            elif len(text) > MAX_TEXT:
                self.err(f"{path}.{lang}", f"is longer than {MAX_TEXT} characters.")

    def ident(self, path: str, value: Any) -> bool:
        if not isinstance(value, str) or not ID_RE.fullmatch(value):
            self.err(path, "must be an id of 1-64 characters of A-Z a-z 0-9 _ . : -")
            return False
        return True

    def target(self, path: str, value: Any, nodes: dict, *, required: bool = True) -> None:
        if value is None or value == "":
            if required:
                self.err(path, "is required: the id of the next node.")
            return
        if not isinstance(value, str) or value not in nodes:
            self.err(path, f"points to {value!r}, which is not a node (dangling edge).")

    def attribute(self, path: str, value: Any, *, required: bool) -> None:
        if value is None:
            if required:
                self.err(path, "is required: the attribute that stores the answer.")
            return
        self.ident(path, value)


def check_retries(c: Checker, path: str, node: dict) -> None:
    value = node.get("max_retries", 2)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        c.err(f"{path}.max_retries", "must be an integer from 0 to 10.")


def check_priority(c: Checker, path: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not -100 <= value <= 100:
        c.err(path, "must be an integer from -100 to 100.")


def check_pattern(c: Checker, path: str, pattern: Any) -> None:
    if not isinstance(pattern, str) or not 0 < len(pattern) <= 200:
        c.err(path, "must be a regular expression of 1-200 characters.")
        return
    try:  # RE2 (chat.safe_regex): a flow's pattern cannot backtrack a worker to a halt
        safe_regex.compile(pattern)
    except safe_regex.error as exc:
        c.err(path, f"is not a valid regular expression for RE2 (no backreferences or "
                    f"lookarounds): {exc}.")  # fmt: skip


def check_validator(c: Checker, path: str, validator: Any) -> None:
    if validator is None:
        return
    if not isinstance(validator, dict) or validator.get("type") not in VALIDATOR_KINDS:
        c.err(f"{path}.type", f"must be one of {', '.join(VALIDATOR_KINDS)}.")
        return
    kind = validator["type"]
    if kind == "regex":
        check_pattern(c, f"{path}.pattern", validator.get("pattern"))
    if kind == "number":
        check_range(c, path, validator, ("min", "max"), "must be a number.", (int, float))
    if kind == "text":
        check_range(c, path, validator, ("min_length", "max_length"),
                     "must be an integer of 0 or more.", (int,), floor=0)  # fmt: skip


def check_range(c: Checker, path: str, validator: dict, names: tuple[str, str], message: str,
                 types: tuple[type, ...], floor: float = -math.inf) -> None:  # fmt: skip
    """Both bounds of the right type, and the lower not above the upper: a step whose
    range is empty (min 10, max 1) could never be answered, and its customer would be
    asked again and again."""
    bounds = []
    for name in names:
        value = validator.get(name)
        if value is None:
            bounds.append(None)
        elif (
            isinstance(value, bool)
            or not isinstance(value, types)
            or not (floor <= value and math.isfinite(value))
        ):
            c.err(f"{path}.{name}", message)
            return
        else:
            bounds.append(value)
    low, high = bounds
    if low is not None and high is not None and low > high:
        c.err(f"{path}.{names[0]}", f"must not be greater than {names[1]} ({high}).")


def check_examples(c: Checker, path: str, examples: Any) -> None:
    if not isinstance(examples, dict) or not examples:
        c.err(path, 'must be an object of example phrases by language: {"en": ["…"]}.')
        return
    for lang, phrases in examples.items():
        if not isinstance(lang, str) or not LANG_RE.fullmatch(lang):
            c.err(f"{path}.{lang}", "is not a language code like 'en'.")
        if (
            not isinstance(phrases, list)
            or not phrases
            or not all(isinstance(p, str) and 0 < len(p.strip()) <= 300 for p in phrases)
        ):
            c.err(f"{path}.{lang}", "must be a non-empty list of phrases (1-300 characters).")
