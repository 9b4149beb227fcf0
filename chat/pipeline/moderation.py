"""Profanity filtering with word lists: normalise, match whole words, mask.

Pure functions over text; no database. Fast enough to run in-process at send time (tens
of microseconds for a chat message; see docs/benchmarks.md), which is why every message
is moderated before anyone is told it exists.

How a message is matched
------------------------
1. Tokens are runs of letters, digits and the leetspeak symbols ``@ $ ! | + * €``. Each
   token is casefolded (``ß`` → ``ss``), stripped of diacritics (``enculé`` → ``encule``)
   and tried as written *and* with leetspeak undone (``sh1t`` → ``shit``, ``@ss`` → ``ass``;
   ``1`` and ``|`` are tried as both ``i`` and ``l``). Invisible characters (soft hyphen,
   zero-width space) are dropped inside a token, and Cyrillic or Greek look-alikes in a
   token with Latin letters read as Latin (a Cyrillic "\\u0441" in "fuck").
2. Repeated letters: a token matches a listed word when both have the same letters once
   runs are collapsed, and every run in the token is at least as long as in the word:
   ``coooon`` matches ``con``, ``fuuuck`` matches ``fuck``, but ``as`` does not match
   ``ass``.
3. Spacing: a run of single-character tokens (``f u c k``, ``f.u.c.k``) is joined and tried
   as one token.
4. Masked letters: a token with ``*`` inside (``f*ck``) matches a listed word of the same
   length where the stars stand for letters, as long as two letters show (``f***ing``,
   ``m***e``).
5. Phrases (``fils de pute``) match consecutive tokens.

6. Stems (data/curation.json), per language: ``compound_stems`` anywhere inside a word,
   for compounds ("Scheißkerl", "verfickte", "incazzato", "emmerdeur"); ``prefix_stems``
   at a word's start only, for inflections ("connards", "salopard", "coñazo", "Kackservice")
   whose stem is innocent inside other words ("dispute", "Marsch"). A stem is spared where
   a ``safe_words`` entry covers its position ("Marschall", "cazzuola", "salopette"). A
   stem's doubled letters must be there ("cazz" is not in "cazuela", "wixx" not in "Wix"),
   and a stem found inside a word of a message in another language does not count (German
   "Zimmerdecke" holds French "merd"), English stems excepted ("abgefuckt").
7. Plurals: each listed single word also matches in its regular plural ("cons", "salauds",
   "idiotas", "troie", "Arschgeigen"), see ``inflections`` in moderation_lists.py.
8. Abbreviations (data/abbreviations.json) each have a policy: ``mask``,
   ``mask-in-language`` (only in a message of that language: French "tg") or ``allow``
   ("pos" is a point-of-sale terminal; "lmao" laughs).

9. Names (``proper_names``): a listed word that is also a person's or a place's name
   ("Dick", "Troia", "Bitche") is left alone when written as a name (a capital, then lower
   case) inside a sentence: "pass this to Dick in accounting", "we ship to Troia". At a
   sentence's start, in capitals, or after an article or "you" of the message's language
   (``not_a_name_after``: "what a Dick", "sei una Troia") it is masked.

The Scunthorpe problem: words match whole tokens, so "Scunthorpe", "assistant", "classic",
"Cockburn", "analysis", "therapist", "contact" and "conseil" are never touched; the stems
are chosen so that no common word holds them, with the safe words for those that do.
Words that are innocent in one language but listed in another (French "con" is Spanish
for "with") are allowed when the message is known to be in that language
(``innocent_in``), and the safe phrases ("cul-de-sac", "bite d'amarrage", "ball cock")
are always allowed. Spanish "ñ" folds to "ny", so "coño" is not "cono" (a cone).
Measured on two labelled sets, 332 and 200 messages: chat/pipeline/evaluation/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from chat.pipeline import conf
from chat.pipeline.moderation_lists import LIST_LANGUAGES, fold, load
from chat.pipeline.moderation_text import (
    CONFUSABLES,
    DROP_INVISIBLE,
    EDGE_PUNCT,
    INVISIBLE,
    LEET,
    LEET_ALT,
    MAX_SPACED_RUN,
    MEMO_SIZE,
    TOKEN_RE,
    covers,
    name_cased,
    runs,
    starts_sentence,
)

__all__ = ["LIST_LANGUAGES", "Lexicon", "Verdict", "fold", "lexicon", "mask", "moderate", "runs"]


@dataclass(frozen=True)
class Entry:
    term: str  # folded form, words separated by one space
    words: tuple[tuple[str, tuple[int, ...]], ...]  # run-length form of each word
    languages: frozenset[str]


@dataclass(frozen=True)
class Match:
    start: int  # character offsets in the original text
    end: int
    term: str
    languages: tuple[str, ...]
    first_token: int = -1  # token indices (-1 for an emoji entry matched as a substring)
    last_token: int = -1
    inside: bool = False  # a compound stem found inside a word, not at its start

    def as_flag(self, text: str) -> dict:
        return {
            "term": self.term,
            "languages": list(self.languages),
            "start": self.start,
            "end": self.end,
            "text": text[self.start : self.end],
        }


@dataclass
class Verdict:
    text: str  # the masked text (equal to the input when nothing matched)
    matches: list[Match] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.matches


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    variants: tuple[str, ...]  # folded forms to try: as written, leetspeak undone
    single: bool  # one character: candidate for the spaced-letters rule


class Lexicon:
    """The word lists of some languages, indexed for whole-token matching."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        lists = load(languages)
        self.single: dict[str, list[Entry]] = {}
        self.phrases: dict[str, list[Entry]] = {}
        self.by_length: dict[int, list[Entry]] = {}
        self.symbols: list[Entry] = []
        for term, langs in lists.terms.items():
            words = term.split(" ")
            entry = Entry(term, tuple(runs(w) for w in words), frozenset(langs))
            if not any(ch.isalnum() for ch in term):
                self.symbols.append(entry)
            elif len(words) == 1:
                self.single.setdefault(entry.words[0][0], []).append(entry)
                self.by_length.setdefault(len(term), []).append(entry)
            else:
                self.phrases.setdefault(entry.words[0][0], []).append(entry)
        self.own_language_only = lists.own_language_only
        self.innocent_in = lists.innocent_in
        self.allow_phrases = [tuple(runs(w) for w in p.split(" ")) for p in lists.safe_phrases]
        self.allow_by_first: dict[str, list[tuple]] = {}
        for phrase in self.allow_phrases:
            self.allow_by_first.setdefault(phrase[0][0], []).append(phrase)
        self.stems = [(*runs(s.stem), s.language, s.prefix) for s in lists.stems]
        self.safe_fragments = [runs(w)[0] for w in lists.safe_fragments]
        self.proper_names = lists.proper_names
        # Without a known language, the words of every language count ("a" is English's
        # article and Italian's "to": "a Troia" is masked until the language is known).
        self.not_a_name_after = {
            "": frozenset().union(*lists.not_a_name_after.values()),
            **lists.not_a_name_after,
        }
        self._memo: dict[tuple[str, ...], list[Entry]] = {}
        self._stem_memo: dict[tuple[str, ...], tuple[str, str] | None] = {}

    # --- tokens ---------------------------------------------------------------------------
    @staticmethod
    @lru_cache(maxsize=MEMO_SIZE)
    def _variants(core: str) -> tuple[str, ...]:
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

    def tokens(self, text: str) -> list[_Token]:
        out = []
        for m in TOKEN_RE.finditer(text):
            raw, start = m.group(), m.start()
            core = raw.strip(EDGE_PUNCT + INVISIBLE)
            if not core:
                continue
            start += len(raw) - len(raw.lstrip(EDGE_PUNCT + INVISIBLE))
            visible = core.translate(DROP_INVISIBLE)
            variants = self._variants(visible)
            if variants:
                out.append(_Token(start, start + len(core), variants, len(visible) == 1))
        return out

    # --- matching -------------------------------------------------------------------------
    def _word_entries(self, variant: str) -> list[Entry]:
        key, counts = runs(variant)
        return [e for e in self.single.get(key, ()) if covers(counts, e.words[0][1])]

    def _wildcard_entries(self, variant: str) -> list[Entry]:
        if "*" not in variant:
            return []
        inner = variant.strip("*")
        # At least two letters shown, the first and the last: "f***ing", "m***e", "sh**ty".
        stars = variant.count("*")
        if "*" not in inner or sum(ch.isalpha() for ch in variant) < 2 or stars > len(variant) - 2:
            return []
        pattern = re.compile(re.escape(variant).replace(r"\*", "[a-z]"))
        return [e for e in self.by_length.get(len(variant), ()) if pattern.fullmatch(e.term)]

    def _token_entries(self, token: _Token) -> list[Entry]:
        cached = self._memo.get(token.variants)
        if cached is None:
            found: dict[str, Entry] = {}
            for variant in token.variants:
                for entry in self._word_entries(variant) + self._wildcard_entries(variant):
                    found[entry.term] = entry
            cached = list(found.values())
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[token.variants] = cached
        return cached

    def _stem_hit(self, token: _Token) -> tuple[str, str, bool] | None:
        """A listed stem inside a word ("Scheißkerl", "incazzato", "emmerdeur"), unless a
        safe word of some language covers that spot ("Marsch", "cazzuola", "salopette").
        Memoised like the word lookups: chat vocabulary repeats."""
        if token.variants in self._stem_memo:
            return self._stem_memo[token.variants]
        if len(self._stem_memo) >= MEMO_SIZE:
            self._stem_memo.clear()
        hit = self._stem_memo[token.variants] = self._stem_search(token.variants)
        return hit

    def _stem_search(self, variants: tuple[str, ...]) -> tuple[str, str, bool] | None:
        for variant in variants:
            word, counts = runs(variant)
            for stem, stem_counts, lang, prefix in self.stems:
                at = word.find(stem)
                while at >= 0 and not (prefix and at > 0):
                    # A stem's doubled letters must be there ("cazz" is not in "cazuela",
                    # "wixx" not in "Wix", "puttan" not in "disputan"), as for whole words.
                    doubled = all(
                        c >= s
                        for c, s in zip(counts[at : at + len(stem)], stem_counts, strict=True)
                    )
                    if doubled and not self._safe_at(word, at, len(stem)):
                        return stem, lang, at > 0
                    at = word.find(stem, at + 1)
        return None

    def _safe_at(self, word: str, at: int, length: int) -> bool:
        for fragment in self.safe_fragments:
            start = word.find(fragment)
            while start >= 0:
                if start <= at and at + length <= start + len(fragment):
                    return True
                start = word.find(fragment, start + 1)
        return False

    @staticmethod
    def _words_match(token: _Token, word: tuple[str, tuple[int, ...]]) -> bool:
        for variant in token.variants:
            key, counts = runs(variant)
            if key == word[0] and covers(counts, word[1]):
                return True
        return False

    def find(self, text: str) -> list[Match]:
        tokens = self.tokens(text)
        matches: list[Match] = []
        for i, token in enumerate(tokens):
            entries = self._token_entries(token)
            for entry in entries:
                matches.append(
                    Match(token.start, token.end, entry.term, tuple(sorted(entry.languages)), i, i)
                )
            if not entries:
                stem = self._stem_hit(token)
                if stem:
                    matches.append(
                        Match(token.start, token.end, stem[0], (stem[1],), i, i, inside=stem[2])
                    )
            starts = {runs(v)[0] for v in token.variants}
            for key in starts:
                for entry in self.phrases.get(key, ()):
                    n = len(entry.words)
                    window = tokens[i : i + n]
                    if len(window) == n and all(
                        self._words_match(t, w) for t, w in zip(window, entry.words, strict=True)
                    ):
                        matches.append(
                            Match(
                                token.start,
                                window[-1].end,
                                entry.term,
                                tuple(sorted(entry.languages)),
                                i,
                                i + n - 1,
                            )
                        )
        matches += self._spaced(tokens)
        for entry in self.symbols:
            for m in re.finditer(re.escape(entry.term), text):
                matches.append(
                    Match(m.start(), m.end(), entry.term, tuple(sorted(entry.languages)), -1, -1)
                )
        return matches

    def _spaced(self, tokens: list[_Token]) -> list[Match]:
        """'f u c k', 'f.u.c.k': runs of one-character tokens, joined."""
        out: list[Match] = []
        i = 0
        while i < len(tokens):
            if not tokens[i].single:
                i += 1
                continue
            j = i
            while j < len(tokens) and tokens[j].single and j - i < MAX_SPACED_RUN:
                j += 1
            run = tokens[i:j]
            for a in range(len(run)):
                for b in range(a + 3, len(run) + 1):
                    joined = [
                        "".join(t.variants[min(k, len(t.variants) - 1)] for t in run[a:b])
                        for k in range(3)
                    ]
                    probe = _Token(
                        run[a].start, run[b - 1].end, tuple(dict.fromkeys(joined)), False
                    )
                    for entry in self._token_entries(probe):
                        out.append(
                            Match(
                                probe.start,
                                probe.end,
                                entry.term,
                                tuple(sorted(entry.languages)),
                                i + a,
                                i + b - 1,
                            )
                        )
            i = j
        return out

    def _allowed_ranges(self, tokens: list[_Token]) -> list[tuple[int, int]]:
        ranges = []
        for i, token in enumerate(tokens):
            for key in {runs(v)[0] for v in token.variants}:
                for phrase in self.allow_by_first.get(key, ()):
                    window = tokens[i : i + len(phrase)]
                    if len(window) == len(phrase) and all(
                        self._words_match(t, w) for t, w in zip(window, phrase, strict=True)
                    ):
                        ranges.append((i, i + len(phrase) - 1))
        return ranges

    def moderate(self, text: str, *, language: str = "") -> Verdict:
        """Mask what the lists match. ``language``: the message's language when known (the
        sender's locale at send time, the detected language later), for ``innocent_in``."""
        matches = self.find(text)
        if not matches:
            return Verdict(text)
        innocent = self.innocent_in.get(language, set())
        tokens = self.tokens(text)
        allowed = self._allowed_ranges(tokens) if self.allow_phrases else []
        kept = []
        for m in matches:
            if self._a_name(text, tokens, m, language):
                continue
            if language and language not in m.languages and m.term in innocent:
                continue
            if m.term in self.own_language_only and language not in m.languages:
                continue  # a short abbreviation, ordinary outside its language ("tg")
            if m.inside and language and language not in m.languages and "en" not in m.languages:
                # Another language's stem inside a word: German "Zimmerdecke" is not French
                # "merd". English stems are borrowed everywhere ("abgefuckt", "Shitstorm").
                continue
            if m.first_token >= 0 and any(
                a <= m.first_token and m.last_token <= b for a, b in allowed
            ):
                continue
            kept.append(m)
        kept = _dedupe(kept, language)
        return Verdict(mask(text, kept), kept)

    def _a_name(self, text: str, tokens: list[_Token], m: Match, language: str) -> bool:
        """A listed word that is also a name, written as one inside a sentence: "pass this
        to Dick in accounting", "we ship to Troia". At a sentence's start, or after an
        article or "you" ("what a Dick"), it is masked."""
        if m.first_token < 0 or m.first_token != m.last_token:
            return False
        token = tokens[m.first_token]
        if not self.proper_names.intersection(token.variants[:1]):
            return False
        if not name_cased(text[token.start : token.end]):
            return False
        i = m.first_token
        before = tokens[i - 1] if i else None
        after = self.not_a_name_after.get(language, self.not_a_name_after[""])
        if before is not None and after.intersection(before.variants[:1]):
            return False  # "what a Dick", "sei una Troia"
        return not starts_sentence(
            text, before and before.end, token.start, bool(before and before.single)
        )


def _dedupe(matches: list[Match], language: str) -> list[Match]:
    """One match per stretch of text: the longest, and of those the message language's."""
    out: list[Match] = []
    ordered = sorted(
        matches, key=lambda m: (m.start, -(m.end - m.start), language not in m.languages)
    )
    for m in ordered:
        if any(o.start <= m.start and m.end <= o.end for o in out):
            continue  # inside a longer match ('puta' in 'p u t a i n')
        out.append(m)
    return out


def mask(text: str, matches: list[Match]) -> str:
    """Keep the first visible character of each match, star the others: 'merde' → 'm****'.
    Spaces stay, so 'f u c k' → 'f * * *' and phrases keep their shape."""
    chars = list(text)
    for m in matches:
        first = m.first_token >= 0  # an emoji entry is starred whole
        for k in range(m.start, m.end):
            if chars[k].isspace():
                continue
            if first:
                first = False
                continue
            chars[k] = "*"
    return "".join(chars)


@lru_cache(maxsize=8)
def lexicon(languages: tuple[str, ...]) -> Lexicon:
    return Lexicon(languages)


def moderate(text: str, *, language: str = "", languages: tuple[str, ...] | None = None) -> Verdict:
    """Moderate ``text`` with the lists of ``languages`` (default: the configured ones)."""
    if languages is None:
        languages = conf.languages()
    return lexicon(tuple(languages)).moderate(text, language=language)


def matches_any(text: str, *, languages: tuple[str, ...] | None = None) -> bool:
    """Whether the lists match anything in ``text``: without a match, ``moderate`` finds it
    clean in every language (the language only decides which matches stand). The send's
    server path (chat/services/send_server.py) takes only such bodies."""
    if languages is None:
        languages = conf.languages()
    return bool(lexicon(tuple(languages)).find(text))
