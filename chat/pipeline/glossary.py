"""A site's glossary: terms never translated (brand and product names).

Before a text goes to the engine each glossary term in it (a whole word or phrase, any
case) is replaced by a placeholder token that engines leave alone (letters and a digit,
no meaning in any language), and put back, as the customer wrote it, in the engine's
answer. So "Bricomax" never becomes "Brico-maximum" and "Orange" stays a brand. A
placeholder the engine lost leaves the translation without that term rather than failing:
the original message is always one click away.

The placeholder's letters are chosen per message among a few that the message does not
contain, so a customer who types something placeholder-shaped ("ZQX1", a reference code)
gets it back untouched. A term written with a leading "=" ("=Orange") matches only as
written, case included: the brand, not the colour "orange".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import permutations

PLACEHOLDER = "ZQX{}"
MAX_TERMS = 200
EXACT = "="  # a term's prefix: match it case-sensitively
# Placeholder letters, tried in turn until one is absent from the text (letters only, rare
# together in every language; engines pass them through). Then doubled, and so on.
_PREFIXES = tuple("".join(p) for p in permutations("ZQX"))


class Kept(list):
    """The protected terms as written, in placeholder order, and the placeholder letters
    chosen for this text (compares equal to a plain list of the terms)."""

    prefix = "ZQX"


def _pattern(terms: Iterable[str]) -> re.Pattern | None:
    cleaned = sorted(
        {t.strip() for t in terms if isinstance(t, str) and t.strip().lstrip(EXACT).strip()},
        key=lambda t: len(t.lstrip(EXACT)),
    )
    if not cleaned:
        return None

    def alternative(term: str) -> str:
        if term.startswith(EXACT):
            return f"(?-i:{re.escape(term[len(EXACT) :].strip())})"
        return re.escape(term)

    alternatives = "|".join(alternative(t) for t in reversed(cleaned[-MAX_TERMS:]))  # longest
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _loose(prefix: str) -> str:
    """The placeholder as an engine may give it back: spaces between letters, any case."""
    return r"\s*".join(map(re.escape, prefix))


def _prefix_for(text: str) -> str:
    for repeat in range(1, 6):
        for letters in _PREFIXES:
            prefix = letters * repeat
            if not re.search(_loose(prefix), text, re.IGNORECASE):
                return prefix
    return "ZQX" * 6  # unreachable in practice: the text would hold all 30 shapes


def protect(text: str, terms: Iterable[str]) -> tuple[str, list[str]]:
    """The text with each glossary term replaced by a placeholder, and the terms as
    written, in placeholder order (a ``Kept`` list that also carries the placeholder)."""
    pattern = _pattern(terms)
    kept = Kept()
    if pattern is None:
        return text, kept
    kept.prefix = _prefix_for(text)

    def swap(match: re.Match) -> str:
        kept.append(match.group(0))
        return f"{kept.prefix}{len(kept) - 1}"

    return pattern.sub(swap, text), kept


def restore(text: str, kept: list[str]) -> str:
    if not kept:
        return text
    prefix = getattr(kept, "prefix", "ZQX")

    def back(match: re.Match) -> str:
        index = int(match.group(1))
        return kept[index] if index < len(kept) else match.group(0)

    return re.sub(rf"{_loose(prefix)}\s*(\d+)", back, text, flags=re.IGNORECASE)
