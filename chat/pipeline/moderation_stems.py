"""Stems (data/curation.json ``compound_stems``, ``prefix_stems``): a listed stem found in a
word, and what may follow it there.

A stem alone over-matches: "shit" is inside Japanese names, Italian "puttan" starts a
pasta sauce, French "conner" an actor's surname. What follows an insult's stem is nearly
always one of its language's endings or derivations ("connerie", "cazzone", "putada",
"bitching") or, in a compounding language, another word ("Scheißkerl", "shitstorm"). So a
stem counts only when the rest of the word is one of ``stem_endings`` of its language
(English lists compound heads too: "-head", "-face", "-storm"); languages in
``open_compounds`` (German) take any rest, and a stem of ``ANY_TAIL_FROM`` letters or more
("motherf", "hurensohn") is specific enough to take any rest as well. Names and ordinary
words then pass without a safe-word entry each ("Connery", "putamen", "Fottorino").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chat.pipeline.moderation_text import runs

ANY_TAIL_FROM = 7  # letters (runs collapsed) from which a stem takes any ending


@dataclass(frozen=True)
class StemHit:
    stem: str
    language: str
    inside: bool  # found inside the word, not at its start


@dataclass(frozen=True)
class _Stem:
    key: str  # runs collapsed
    counts: tuple[int, ...]
    language: str
    prefix: bool
    spelled: str  # the doubled letters back: "cazz", for masked-letter tokens


class StemIndex:
    def __init__(
        self,
        stems,
        safe_fragments,
        endings: dict[str, frozenset[str]],
        open_compounds: frozenset[str],
    ) -> None:
        self.stems = []
        for s in stems:
            key, counts = runs(s.stem)
            spelled = "".join(ch * n for ch, n in zip(key, counts, strict=True))
            self.stems.append(_Stem(key, counts, s.language, s.prefix, spelled))
        self.safe_fragments = [runs(w)[0] for w in safe_fragments]
        # Endings compared with their runs collapsed, as the words are.
        self.endings = {lang: frozenset(runs(e)[0] for e in ends) for lang, ends in endings.items()}
        self.open_compounds = open_compounds

    def search(self, variants: tuple[str, ...]) -> StemHit | None:
        for variant in variants:
            hit = self._in_word(variant) if "*" not in variant else self._masked(variant)
            if hit:
                return hit
        return None

    def _in_word(self, variant: str) -> StemHit | None:
        word, counts = runs(variant)
        for stem in self.stems:
            at = word.find(stem.key)
            while at >= 0 and not (stem.prefix and at > 0):
                # A stem's doubled letters must be there ("cazz" is not in "cazuela",
                # "wixx" not in "Wix", "puttan" not in "disputan"), as for whole words.
                doubled = all(
                    c >= s
                    for c, s in zip(counts[at : at + len(stem.key)], stem.counts, strict=True)
                )
                if (
                    doubled
                    and self._tail_fits(stem, word, counts, at)
                    and not self._safe_at(word, at, len(stem.key))
                ):
                    return StemHit(stem.key, stem.language, at > 0)
                at = word.find(stem.key, at + 1)
        return None

    def _tail_fits(self, stem: _Stem, word: str, counts: tuple[int, ...], at: int) -> bool:
        if len(stem.key) >= ANY_TAIL_FROM or stem.language in self.open_compounds:
            return True
        end = at + len(stem.key)
        # The last letter's run may go on past the stem ("shitty", "shiiittt"): the extra
        # letters are the ending's, or only stretching.
        extra = counts[end - 1] - stem.counts[-1]
        tail = word[end - 1] * max(extra, 0) + "".join(
            ch * n for ch, n in zip(word[end:], counts[end:], strict=True)
        )
        allowed = self.endings.get(stem.language)
        if allowed is None:
            return True  # a language without endings listed keeps the old rule
        collapsed = runs(tail)[0]
        stretched_only = runs(tail.lstrip(word[end - 1]))[0]
        return _endings_chain(collapsed, allowed) or _endings_chain(stretched_only, allowed)

    def _safe_at(self, word: str, at: int, length: int) -> bool:
        for fragment in self.safe_fragments:
            start = word.find(fragment)
            while start >= 0:
                if start <= at and at + length <= start + len(fragment):
                    return True
                start = word.find(fragment, start + 1)
        return False

    def _masked(self, variant: str) -> StemHit | None:
        """A stem behind stars inside a longer word: "dumbf*ck", "sh*thead", "stronz*ta".
        The stars stand for letters of the stem; at least two of its letters show, and at
        least one star falls inside it (a star outside it hides nothing of it)."""
        if sum(ch.isalpha() for ch in variant) < 2:
            return None
        for stem in self.stems:
            spelled = stem.spelled
            n = len(spelled)
            last = 0 if stem.prefix else len(variant) - n
            for at in range(0, last + 1):
                piece = variant[at : at + n]
                if len(piece) < n or "*" not in piece:
                    continue
                shown = sum(ch != "*" for ch in piece)
                if shown < 2 or shown < n - 2:
                    continue
                if all(c == "*" or c == s for c, s in zip(piece, spelled, strict=True)):
                    rest = re.sub(r"\*+", "", variant[at + n :])
                    word, counts = runs(spelled + rest)
                    if self._tail_fits(stem, word, counts, 0):
                        return StemHit(stem.key, stem.language, at > 0)
        return None


MAX_ENDINGS = 3  # derivation, then inflection, then a clitic: "incazz-at-issimo", "jod-e-te"


def _endings_chain(tail: str, allowed: frozenset[str], pieces: int = MAX_ENDINGS) -> bool:
    """Whether ``tail`` is up to ``pieces`` listed endings one after another."""
    if tail in allowed:
        return True
    if pieces <= 1:
        return False
    return any(
        tail[:k] in allowed and _endings_chain(tail[k:], allowed, pieces - 1)
        for k in range(1, len(tail))
    )
