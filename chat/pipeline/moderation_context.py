"""What a message's own words say, for moderation (chat/pipeline/moderation.py): which
languages it plausibly is in, whether an ambiguous word is used as an insult, and whether a
listed word is written as a place or a person's name.

Languages. The language moderation is given is a guess (the sender's locale at send time,
lingua's detection later) and a wrong guess is costly both ways: a French speaker whose
browser says English writes "t'es qu'un con" ("con" is innocent in English), a German one
writes "ja bitte" ("bitte" is listed in French). A cheap vote of function words
(data/function_words.json: articles, pronouns, auxiliaries, elisions such as "t'", "qu'",
"dell'", "don't") decides which languages' rules apply when the text says something, and
the guess decides only when it says nothing (a single word) or agrees with the vote. The
listed words themselves never vote ("con" is also Spanish and Italian for "with").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chat.pipeline.moderation_lists import fold

DATA = Path(__file__).resolve().parent / "data" / "function_words.json"
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
# Half a vote: a word two languages share. The guess stands unless the text has more than
# that for another language; languages within it of the leader all decide together.
MARGIN = 0.5


@dataclass(frozen=True)
class MessageLanguages:
    deciding: frozenset[str]  # whose rules apply ("innocent_in", stems); empty: unknown
    plausible: frozenset[str]  # every language the text could be in (the guess included)
    voted: bool  # whether the text's own words said anything


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]], frozenset[str]]:
    data = json.loads(DATA.read_text())
    owners: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    suffixes: set[str] = set()
    for lang, words in data.items():
        if lang in ("about", "elisions"):
            continue
        for word in words:
            owners.setdefault(fold(word), set()).add(lang)
    for lang, rules in data.get("elisions", {}).items():
        for prefix in rules.get("prefixes", []):
            prefixes.setdefault(prefix, set()).add(lang)
        if lang == "en":
            suffixes.update(rules.get("suffixes", []))
    return (
        {w: frozenset(langs) for w, langs in owners.items()},
        {p: frozenset(langs) for p, langs in prefixes.items()},
        frozenset(suffixes),
    )


def votes(text: str, skip: list[tuple[int, int]] = ()) -> dict[str, float]:
    """Each function word's vote, shared among the languages that have it; words inside
    ``skip`` (the listed words found) do not vote."""
    owners, prefixes, en_suffixes = _vocabulary()
    out: dict[str, float] = {}

    def give(langs: frozenset[str]) -> None:
        for lang in langs:
            out[lang] = out.get(lang, 0.0) + 1 / len(langs)

    for m in _WORD.finditer(text):
        if any(a < m.end() and m.start() < b for a, b in skip):
            continue
        word = fold(m.group().replace("\u2019", "'"))
        if "'" in word:
            head, _, rest = word.partition("'")
            tail = word.rsplit("'", 1)[1]
            if head in prefixes and rest:
                give(prefixes[head])  # "t'es", "qu'un", "dell'auto"
            elif tail in en_suffixes:
                give(frozenset({"en"}))  # "don't", "you're"
            continue
        if word in owners:
            give(owners[word])
    return out


def message_languages(
    text: str, guess: str, skip: list[tuple[int, int]] = (), known: tuple[str, ...] = ()
) -> MessageLanguages:
    """The languages whose rules apply to ``text``: the vote's leader(s) when the text's
    words say something the guess does not, else the guess."""
    counted = votes(text, skip)
    if known:
        counted = {k: v for k, v in counted.items() if k in known}
    guessed = frozenset({guess}) if guess else frozenset()
    if not counted:
        return MessageLanguages(guessed, guessed, False)
    best = max(counted.values())
    if guess and counted.get(guess, 0.0) >= best - MARGIN:
        deciding = guessed
    else:
        deciding = frozenset(lang for lang, v in counted.items() if v >= best - MARGIN)
    return MessageLanguages(deciding, deciding | guessed | frozenset(counted), True)


# --- ambiguous words and names ---------------------------------------------------------------
def confirmed(near: list[str], cues: frozenset[str], alone: bool, other_hits: bool) -> bool:
    """Whether an ambiguous word ("tit", "zorra", "capullo": a bird, a vixen, a bud) is used
    as an insult: said to someone ("you", "such a", "eres una", "espèce de" among the three
    words before it or the two after: "zorra, eres..."), alone as the whole message, or
    next to an unambiguous insult."""
    return other_hits or alone or bool(cues.intersection(near))


def named_place_or_person(previous: str, introducers: frozenset[str]) -> bool:
    """A listed word written as a name (capital, then lower case, not opening a sentence)
    that follows a word introducing a place or a person: "in", "near", "vicino", "chez",
    "Mr", "Signor"."""
    return previous in introducers
