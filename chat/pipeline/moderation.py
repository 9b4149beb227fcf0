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
   zero-width space) are dropped inside a token, and look-alikes of any script (Unicode's
   confusables, UTS #39) in a token with Latin letters read as Latin (a Cyrillic "\\u0441"
   or a hooked "\\u0192" in "fuck"). Edge symbols that stand for letters ("+" and "|" at
   either end, "!" leading) are tried as letters too ("sh!+"); a trailing "!" stays
   punctuation.
2. Repeated letters: a token matches a listed word when both have the same letters once
   runs are collapsed, and every run in the token is at least as long as in the word:
   ``coooon`` matches ``con``, ``fuuuck`` matches ``fuck``, but ``as`` does not match
   ``ass``.
3. Spacing: a run of single-character tokens (``f u c k``, ``f.u.c.k``) is joined and tried
   as one token.
4. Masked letters: a token with ``*`` inside (``f*ck``) matches a listed word of the same
   length where the stars stand for letters, as long as two letters show (``f***ing``,
   ``m***e``), or a stem inside a longer word (``sh*tstorm``, ``megaf*cked``).
5. Phrases (``fils de pute``) match consecutive tokens.

6. Stems (data/curation.json), per language: ``compound_stems`` anywhere inside a word,
   for compounds ("Scheißkerl", "verfickte", "incazzato", "emmerdeur"); ``prefix_stems``
   at a word's start only, for inflections ("connards", "salopard", "coñazo", "Kackservice")
   whose stem is innocent inside other words ("dispute", "Marsch"). A stem is spared where
   a ``safe_words`` entry covers its position ("Marschall", "cazzuola", "salopette"). A
   stem's doubled letters must be there ("cazz" is not in "cazuela", "wixx" not in "Wix"),
   and what follows it must be endings of its language (``stem_endings``: "cazz-ata",
   "put-ada"; any tail in German compounds or after a long stem), so names and words that
   merely start like an insult pass (moderation_stems.py). A stem of another language than
   the message's, at a word's start or inside it, does not count (German "Zimmerdecke"
   holds French "merd", English "spastic" German "spast"), English stems excepted
   ("abgefuckt").
7. Plurals: each listed single word also matches in its regular plural ("cons", "salauds",
   "idiotas", "troie", "Arschgeigen"), see ``inflections`` in moderation_lists.py.
8. Abbreviations (data/abbreviations.json) each have a policy: ``mask``,
   ``mask-in-language`` (only in a message of that language: French "tg") or ``allow``
   ("pos" is a point-of-sale terminal; "lmao" laughs).

9. Names (``proper_names``): a listed word that is also a person's or a place's name
   ("Dick", "Troia", "Bitche") is left alone when written as a name (a capital, then lower
   case) inside a sentence: "pass this to Dick in accounting", "we ship to Troia". At a
   sentence's start, in capitals, or after an article or "you" of the message's language
   (``not_a_name_after``: "what a Dick", "sei una Troia") it is masked. Any listed word
   written as a name reads as one after a place preposition or a title
   (``name_introducers``: "near", "vicino", "Mr") or before ", Region".
10. Languages: the message's own function words (moderation_context.py) decide which
   languages' rules apply (``innocent_in``, stems, names) when they say something; the
   given language (locale, detection) only when they say nothing or agree.
11. Ambiguous words (``ambiguous``: a bird, a bud, a vixen) are masked only when aimed at
   someone (``insult_cues`` near them), alone, or next to another listed word.

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
from dataclasses import replace
from functools import lru_cache

from chat.pipeline import conf
from chat.pipeline.moderation_context import (
    MessageLanguages,
    confirmed,
    message_languages,
)
from chat.pipeline.moderation_lists import LIST_LANGUAGES, fold, load
from chat.pipeline.moderation_names import NameReading
from chat.pipeline.moderation_stems import StemIndex
from chat.pipeline.moderation_text import (
    MAX_SPACED_RUN,
    MEMO_SIZE,
    Token,
    covers,
    runs,
    tokens,
)
from chat.pipeline.moderation_types import Entry, Match, Verdict, _dedupe, mask

__all__ = [
    "LIST_LANGUAGES",
    "Lexicon",
    "Match",
    "Verdict",
    "fold",
    "lexicon",
    "mask",
    "moderate",
    "runs",
]
_Token = Token


class Lexicon(NameReading):
    """The word lists of some languages, indexed for whole-token matching."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        lists = load(languages)
        self.languages = languages
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
        self.stems = StemIndex(
            lists.stems, lists.safe_fragments, lists.stem_endings, lists.open_compounds
        )
        self.proper_names = lists.proper_names
        self.ambiguous = lists.ambiguous
        self.insult_cues = lists.insult_cues
        self.name_introducers = lists.name_introducers
        self.place_prepositions = lists.place_prepositions
        # Without a known language, the words of every language count ("a" is English's
        # article and Italian's "to": "a Troia" is masked until the language is known).
        self.not_a_name_after = {
            "": frozenset().union(*lists.not_a_name_after.values()),
            **lists.not_a_name_after,
        }
        self._memo: dict[tuple[str, ...], list[Entry]] = {}
        self._stem_memo: dict[tuple[str, ...], tuple[str, str, bool] | None] = {}

    # --- tokens ---------------------------------------------------------------------------
    @staticmethod
    def tokens(text: str) -> list[Token]:
        return tokens(text)

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
        found = self.stems.search(token.variants)
        hit = self._stem_memo[token.variants] = (
            (found.stem, found.language, found.inside) if found else None
        )
        return hit

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
                        Match(token.start, token.end, stem[0], (stem[1],), i, i, stem[2], True)
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
        """Mask what the lists match. ``language``: the message's language as guessed (the
        sender's locale at send time, the detected language later); the text's own function
        words may overrule it (moderation_context.py), for ``innocent_in``, the names and
        the stems of other languages."""
        matches = self.find(text)
        if not matches:
            return Verdict(text)
        tokens = self.tokens(text)
        langs = message_languages(
            text, language, [(m.start, m.end) for m in matches], self.languages
        )
        allowed = self._allowed_ranges(tokens) if self.allow_phrases else []
        kept = []
        for m in matches:
            if m.first_token >= 0 and any(
                a <= m.first_token and m.last_token <= b for a, b in allowed
            ):
                continue
            if self._a_name(text, tokens, m, langs) or self._innocent(m, langs.deciding):
                continue
            if m.term in self.own_language_only and not langs.deciding.intersection(m.languages):
                continue  # a short abbreviation, ordinary outside its language ("tg")
            if m.stem and self._foreign_stem(m, langs.deciding):
                continue
            kept.append(replace(m, doubtful=self._innocent_somewhere(m, langs)))
        kept = self._ambiguous_confirmed(kept, tokens)
        kept = _dedupe(kept, next(iter(sorted(langs.deciding)), language))
        return Verdict(mask(text, kept), kept)

    def _innocent(self, m: Match, deciding: frozenset[str]) -> bool:
        """A word innocent in the message's language(s): in every one that decides."""
        return bool(deciding) and all(
            lang not in m.languages and m.term in self.innocent_in.get(lang, ())
            for lang in deciding
        )

    def _innocent_somewhere(self, m: Match, langs: MessageLanguages) -> bool:
        return any(self._innocent(m, frozenset({lang})) for lang in langs.plausible)

    @staticmethod
    def _foreign_stem(m: Match, deciding: frozenset[str]) -> bool:
        """Another language's stem, at a word's start or inside it: German "spast" in an
        English "spastic", French "merd" in German "Zimmerdecke". English stems are
        borrowed everywhere ("abgefuckt", "Shitstorm")."""
        return bool(deciding) and not deciding.intersection(m.languages) and "en" not in m.languages

    def _ambiguous_confirmed(self, kept: list[Match], tokens: list[Token]) -> list[Match]:
        def ambiguous(m: Match) -> bool:
            return not m.stem and m.first_token == m.last_token >= 0 and m.term in self.ambiguous

        plain = [m for m in kept if not ambiguous(m)]
        out = []
        for m in kept:
            if ambiguous(m):
                i = m.first_token
                near = [t.variants[0] for t in tokens[max(0, i - 3) : i] + tokens[i + 1 : i + 3]]
                if not confirmed(near, self.insult_cues, len(tokens) == 1, bool(plain)):
                    continue  # "a blue tit", "una zorra en el jardín": the animal
            out.append(m)
        return out


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
