"""The characters of moderation (chat/pipeline/moderation.py): what a token is, the
look-alikes and leetspeak undone before matching, and the run-length form that lets a
stretched word ("fuuuck") match its listed one."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from chat.pipeline.moderation_lists import fold

# Invisible characters (soft hyphen, zero-width space/joiners, word joiner, BOM) do not end a
# token and are dropped before matching: "f\u200buck" is "fuck", and "con\u00adtent"
# (hyphenation pasted from a web page) is "content", not "con" + "tent".
INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
DROP_INVISIBLE = str.maketrans(dict.fromkeys(INVISIBLE))
TOKEN_RE = re.compile(rf"(?:[^\W_]|[@$!|+*€])(?:[^\W_]|[@$!|+*€{INVISIBLE}])*")
EDGE_PUNCT = "!|+*"  # stripped from a token's ends: "merde!!!", "**bold**"
# Look-alikes of Latin letters and digits from any script (Unicode's confusables, UTS #39,
# as shipped by confusable-homoglyphs): "fu\u0441k" with a Cyrillic es, "\u0192uck" with a
# hooked f, mathematical and enclosed letters. Undone only in a token that mixes them with
# Latin letters; a token wholly in another script is a word of that script, left alone.
# Accented Latin letters are not look-alikes here: fold() has already stripped them.
_FALLBACK_CONFUSABLES = dict(
    zip(
        "\u0430\u0432\u0435\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445"
        "\u0456\u0458\u0455\u03b1\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5",
        "abekmhopctyxijsaeikvoptu",
        strict=True,
    )
)


def _confusables() -> dict[int, str]:
    table = dict(_FALLBACK_CONFUSABLES)
    try:
        from confusable_homoglyphs import utils
    except ImportError:  # pragma: no cover - the package is in requirements/base.txt
        return str.maketrans(table)

    def ascii_base(ch: str) -> str:
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        ).lower()
        return plain if len(plain) == 1 and plain.isascii() and plain.isalnum() else ""

    for char, glyphs in utils.load("confusables.json").items():
        group = [char, *(g["c"] for g in glyphs)]
        target = next((b for b in map(ascii_base, group) if b), "")
        if not target:
            continue
        for glyph in group:
            if len(glyph) == 1 and not glyph.isascii() and not ascii_base(glyph).isalpha():
                # A glyph whose own decomposition is a Latin letter ("é") is left to fold().
                table.setdefault(glyph, target)
                table.setdefault(glyph.casefold(), target)
    return str.maketrans({k: v for k, v in table.items() if len(k) == 1})


CONFUSABLES = _confusables()
LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e"}
)  # fmt: skip
LEET_ALT = str.maketrans({"1": "l", "|": "i"})
MAX_SPACED_RUN = 24  # single letters joined at most (bounds the O(n²) window scan)
# Entries per memo of token lookups (four of them per process). Chat vocabulary repeats, so
# a few thousand recent tokens catch most lookups; but names, e-mail addresses and order
# numbers never repeat, and 65,536-entry memos grew every process by ~55 MB per 20,000
# such messages before they filled (the 2-hour soak read it as a leak). ~2.5 kB a message
# at most now, bounded at a few MB.
MEMO_SIZE = 4096


@lru_cache(maxsize=MEMO_SIZE)
def runs(word: str) -> tuple[str, tuple[int, ...]]:
    """Run-length form: 'coooon' → ('con', (1, 4, 1))."""
    letters: list[str] = []
    counts: list[int] = []
    for ch in word:
        if letters and letters[-1] == ch:
            counts[-1] += 1
        else:
            letters.append(ch)
            counts.append(1)
    return "".join(letters), tuple(counts)


def covers(token_counts: tuple[int, ...], word_counts: tuple[int, ...]) -> bool:
    """Every run as long as the word's, and a longer run only when stretched (three or
    more): 'coooon' and 'fuuuck' are stretched, but German 'bitte' is not French 'bite'."""
    return all(t == w or t >= max(w + 1, 3) for t, w in zip(token_counts, word_counts, strict=True))


def name_cased(word: str) -> bool:
    """Written as a name is: a capital, then lower case ("Dick", "Maricá"; not "DICK")."""
    return len(word) > 1 and word[0].isupper() and word[1:].islower()


def starts_sentence(text: str, previous_end: int | None, start: int, previous_single: bool) -> bool:
    """Whether the token at ``start`` opens a sentence: the text's first token, or one after
    a line break, "!", "?" or a "." that does not follow an initial ("Philip K. Dick")."""
    if previous_end is None:
        return True
    gap = text[previous_end:start]
    return any(c in gap for c in "!?\n") or ("." in gap and not previous_single)


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    variants: tuple[str, ...]  # folded forms to try: as written, leetspeak undone
    single: bool  # one character: candidate for the spaced-letters rule


@lru_cache(maxsize=MEMO_SIZE)
def variants(core: str) -> tuple[str, ...]:
    folded = fold(core)
    if not folded.isascii() and any("a" <= ch <= "z" for ch in folded):
        folded = folded.translate(CONFUSABLES)
    if not any(ch.isalpha() for ch in folded):
        return ()  # numbers and stray symbols are never words here
    if folded.isalpha():
        return (folded,)
    out = [folded, folded.translate(LEET)]
    out.append(folded.translate(LEET_ALT).translate(LEET))
    return tuple(dict.fromkeys(out))


def tokens(text: str) -> list[Token]:
    out = []
    for m in TOKEN_RE.finditer(text):
        raw, start = m.group(), m.start()
        core = raw.strip(EDGE_PUNCT + INVISIBLE)
        if not core:
            continue
        lead = len(raw) - len(raw.lstrip(EDGE_PUNCT + INVISIBLE))
        visible = core.translate(DROP_INVISIBLE)
        found = variants(visible)
        whole = raw.strip(INVISIBLE)
        if found and whole != core and _edges_disguise(whole, core):
            # "sh!+", "shi+", "|diot": the edge symbols are letters in disguise, so the
            # token is tried with them too (and masked whole when that form matches).
            start, core = start + len(raw) - len(raw.lstrip(INVISIBLE)), whole
            found = tuple(dict.fromkeys(found + variants(whole.translate(DROP_INVISIBLE))))
        else:
            start += lead
        if found:
            out.append(Token(start, start + len(core), found, len(visible) == 1))
    return out


def _edges_disguise(whole: str, core: str) -> bool:
    """Edge symbols that stand for letters: "+" and "|" anywhere at an edge, "!" leading.
    A trailing "!" is punctuation ("merde!!"), and "*" around a word is emphasis."""
    at = whole.find(core)
    edges = whole[:at] + whole[at + len(core) :]
    return any(c in "+|" for c in edges) or whole.startswith("!")
