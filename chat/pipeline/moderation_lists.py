"""The moderation word lists, loaded: LDNOOBW plus Parley's curation (data/curation.json)
and abbreviations (data/abbreviations.json). See data/README.md for what each part means.

Kept apart from the matcher (moderation.py) so that the rules of each language read as data.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
LIST_LANGUAGES = ("en", "fr", "it", "es", "de", "pt")
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# "ñ" is a letter of its own: Spanish "coño" is an insult, "cono" a traffic cone. Folding it
# to "ny" (as Catalan spells it) keeps the two apart; everything else loses its accents.
SPECIAL = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "\u0131": "i", "ñ": "ny"}
)  # dotless i
POLICIES = ("mask", "mask-in-language", "allow")


def fold(text: str) -> str:
    """Casefold and strip diacritics: 'Enculé' → 'encule', 'Scheiße' → 'scheisse'."""
    if text.isascii():
        return text.lower()  # the common case, ten times cheaper
    text = unicodedata.normalize("NFKC", text).casefold().translate(SPECIAL)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def key(raw: str) -> str:
    """A list entry's folded form; words split on anything that is not a letter/digit."""
    folded = fold(raw.strip())
    if not any(ch.isalnum() for ch in folded):
        return folded  # an emoji entry
    return " ".join(re.findall(r"[^\W_]+", folded))


@dataclass(frozen=True)
class Stem:
    stem: str  # folded, runs collapsed
    language: str
    prefix: bool  # True: only at the start of a word; False: anywhere inside it


@dataclass(frozen=True)
class Lists:
    terms: dict[str, set[str]]  # folded term -> languages whose list has it
    own_language_only: frozenset[str]  # terms masked only in a message of their language
    innocent_in: dict[str, set[str]]
    safe_phrases: tuple[str, ...]  # folded phrases, innocent whatever the language
    stems: tuple[Stem, ...]
    safe_fragments: frozenset[str]  # a stem inside one of these is not a hit
    abbreviations: dict[str, dict[str, dict[str, str]]]  # lang -> abbreviation -> entry
    proper_names: frozenset[str] = frozenset()  # folded words that are also names
    # language -> words ("a", "you") after which a name-cased listed word is no name
    not_a_name_after: dict[str, frozenset[str]] = field(default_factory=dict)
    stem_endings: dict[str, frozenset[str]] = field(default_factory=dict)  # lang -> endings
    open_compounds: frozenset[str] = frozenset()  # languages whose stems take any ending
    ambiguous: frozenset[str] = frozenset()  # listed words with a common innocent meaning
    insult_cues: frozenset[str] = frozenset()  # words that aim an ambiguous word at someone
    name_introducers: dict[str, frozenset[str]] = field(default_factory=dict)
    place_prepositions: frozenset[str] = frozenset()  # German: a place if ", Region" follows


def _abbreviations() -> dict[str, dict[str, dict[str, str]]]:
    data = json.loads((DATA_DIR / "abbreviations.json").read_text())
    out = {lang: entries for lang, entries in data.items() if not lang.startswith("_")}
    for lang, entries in out.items():
        for abbreviation, entry in entries.items():
            if entry.get("policy") not in POLICIES:
                raise ValueError(f"abbreviations.json: {lang}/{abbreviation}: bad policy")
    return out


def inflections(term: str, lang: str) -> tuple[str, ...]:
    """Regular plurals of a listed single word, which the lists mostly give only in the
    singular ("cons", "salauds", "idiotas", "troie", "Idioten"): English and French add -s
    (English -es after a sibilant), Spanish and Portuguese -s after a vowel and -es after a
    consonant,
    Italian turns a final -o or -e into -i and -a into -e, German adds -n after -e, -el and
    -er, and -e or -en after anything else. Folded forms in, folded forms out."""
    if len(term) < 3 or not term.isalpha():
        return ()
    if lang == "en":
        return (term + "es",) if term.endswith(("s", "sh", "ch", "x", "z")) else (term + "s",)
    if lang == "fr":
        return () if term.endswith(("s", "x", "z")) else (term + "s",)
    if lang in ("es", "pt"):
        if term[-1] in "aeiou":
            return (term + "s",)
        return () if term.endswith("s") else (term + "es",)
    if lang == "it":
        plural = {"o": "i", "e": "i", "a": "e"}.get(term[-1])
        return (term[:-1] + plural,) if plural else ()
    if lang == "de":
        if term.endswith(("e", "el", "er")):
            return (term + "n",)
        return () if term.endswith("en") else (term + "e", term + "en")
    return ()


@lru_cache(maxsize=8)
def load(languages: tuple[str, ...]) -> Lists:
    curation = json.loads((DATA_DIR / "curation.json").read_text())
    abbreviations = _abbreviations()
    terms: dict[str, set[str]] = {}
    own_language_only: set[str] = set()
    listed: list[tuple[str, str]] = []  # (single word, language): the words to inflect
    for lang in languages:
        if lang not in LIST_LANGUAGES:
            continue
        upstream = json.loads((DATA_DIR / f"ldnoobw-{lang}.json").read_text())
        excluded = {key(w) for w in curation["exclude"].get(lang, [])}
        for raw in [*upstream, *curation["extra"].get(lang, [])]:
            for variant in {raw, raw.translate(UMLAUTS)} if lang == "de" else {raw}:
                k = key(variant)
                if k and key(raw) not in excluded:
                    terms.setdefault(k, set()).add(lang)
                    if " " not in k:
                        listed.append((k, lang))
        for abbreviation, entry in abbreviations.get(lang, {}).items():
            if entry["policy"] == "allow":
                continue
            terms.setdefault(key(abbreviation), set()).add(lang)
            if entry["policy"] == "mask-in-language":
                own_language_only.add(key(abbreviation))
    # Plurals of the listed words, unless the plural is an everyday word of its own
    # ("tetti" = roofs, "fressen" = to eat: curation.json "not_inflected") or excluded.
    not_inflected = {key(w) for w in curation.get("not_inflected", [])}
    everywhere_excluded = {key(w) for words in curation["exclude"].values() for w in words}
    inflected_from: dict[str, str] = {}
    listed_terms = set(terms)  # a plural found in two languages' lists is both languages'
    for word, lang in listed:
        for form in inflections(word, lang):
            if form in listed_terms or form in not_inflected or form in everywhere_excluded:
                continue
            terms.setdefault(form, set()).add(lang)
            inflected_from.setdefault(form, word)
    stems = tuple(
        Stem(key(stem), lang, prefix)
        for field, prefix in (("compound_stems", False), ("prefix_stems", True))
        for lang, lang_stems in curation[field].items()
        if lang in languages
        for stem in lang_stems
    )
    safe_phrases = [*curation["allow_phrases"]]
    for phrases in curation["safe_phrases"].values():
        safe_phrases.extend(phrases)
    innocent_in = {lang: {key(w) for w in words} for lang, words in curation["innocent_in"].items()}
    for innocent in innocent_in.values():  # "cons" is as English as "con", "bites" as "bite"
        innocent |= {form for form, word in inflected_from.items() if word in innocent}
    return Lists(
        terms=terms,
        own_language_only=frozenset(own_language_only),
        innocent_in=innocent_in,
        safe_phrases=tuple(key(p) for p in safe_phrases),
        stems=stems,
        safe_fragments=frozenset(
            key(w) for words in curation["safe_words"].values() for w in words
        ),
        abbreviations=abbreviations,
        proper_names=frozenset(key(w) for w in curation.get("proper_names", [])),
        not_a_name_after=_per_language(curation, "not_a_name_after"),
        stem_endings={
            lang: frozenset(fold(e) for e in ends)
            for lang, ends in curation.get("stem_endings", {}).items()
            if not lang.startswith("_")
        },
        open_compounds=frozenset(curation.get("open_compounds", [])),
        ambiguous=frozenset().union(*_per_language(curation, "ambiguous").values()),
        insult_cues=frozenset().union(*_per_language(curation, "insult_cues").values()),
        name_introducers=_per_language(curation, "name_introducers"),
        place_prepositions=frozenset().union(
            *_per_language(curation, "place_prepositions").values()
        ),
    )


def _per_language(curation: dict, name: str) -> dict[str, frozenset[str]]:
    return {
        lang: frozenset(key(w) for w in words)
        for lang, words in curation.get(name, {}).items()
        if not lang.startswith("_")
    }
