"""A site's glossary: terms never translated (brand and product names).

Before a text goes to the engine each glossary term in it (a whole word or phrase, any
case) is replaced by a placeholder token that engines leave alone (letters and a digit,
no meaning in any language), and put back, as the customer wrote it, in the engine's
answer. So "Bricomax" never becomes "Brico-maximum" and "Orange" stays a brand. A
placeholder the engine lost leaves the translation without that term rather than failing:
the original message is always one click away.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PLACEHOLDER = "ZQX{}"
_PLACEHOLDER_RE = re.compile(r"Z\s*Q\s*X\s*(\d+)", re.IGNORECASE)
MAX_TERMS = 200


def _pattern(terms: Iterable[str]) -> re.Pattern | None:
    cleaned = sorted({t.strip() for t in terms if isinstance(t, str) and t.strip()}, key=len)
    if not cleaned:
        return None
    alternatives = "|".join(re.escape(t) for t in reversed(cleaned[-MAX_TERMS:]))  # longest first
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def protect(text: str, terms: Iterable[str]) -> tuple[str, list[str]]:
    """The text with each glossary term replaced by a placeholder, and the terms as
    written, in placeholder order."""
    pattern = _pattern(terms)
    if pattern is None:
        return text, []
    kept: list[str] = []

    def swap(match: re.Match) -> str:
        kept.append(match.group(0))
        return PLACEHOLDER.format(len(kept) - 1)

    return pattern.sub(swap, text), kept


def restore(text: str, kept: list[str]) -> str:
    if not kept:
        return text

    def back(match: re.Match) -> str:
        index = int(match.group(1))
        return kept[index] if index < len(kept) else match.group(0)

    return _PLACEHOLDER_RE.sub(back, text)
