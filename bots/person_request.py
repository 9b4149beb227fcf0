"""Does a customer's message ask the bot for a person? Pure functions over a phrase list
(bots/data/person_request.json: English, French, Italian, Spanish, German).

A customer stuck at a question ("your order number?") who writes "I don't have it, I want
to talk to a human" must reach a person, as Intercom's and Zendesk's bots let them; the
engine hands off when this says yes (bots.services.engine_step).

Matching is on whole words after normalisation (bots.intents.normalize: case folded,
accents stripped, punctuation and apostrophes as spaces), each language's rules on their
own so that one language's verb never pairs with another's noun. A message asks for a
person when, in one language, it holds

- a phrase that is a request on its own ("real person", "un humain", "einen Menschen");
- a request verb, at most two little words ("a", "real", "une", "einem"), then a person
  ("I want to talk to an agent", "parlare con un operatore", "mit einem Mitarbeiter");
- or nothing but a person and fillers ("Agent!", "human please", "Mitarbeiter bitte").

A request right after a negation does not count ("I don't want to talk to an agent", "je
ne veux pas parler à un humain", "ich möchte nicht mit einem Menschen reden"); the
negation is looked for in the two words before the whole request, its verbs included, and
in the same clause only ("I don't have it, I want a human" asks).

The trade-off: a role word inside an ordinary sentence is not a request. "The agent was
rude" (a complaint) or "Ihr Mitarbeiter war unfreundlich" goes on to the step as usual: at
an intent step the classifier may route it to a better queue than the default one the
shortcut would use, and the clarifying question then offers "Talk to someone" anyway. A
customer who does write a request verb with a person ("I want the agent who helped me")
is handed off even if the flow could have answered: a person reached too early costs an
agent a minute, a customer trapped with a bot costs the customer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.intents import normalize

DATA_PATH = Path(__file__).resolve().parent / "data" / "person_request.json"
# The id of the "Talk to someone" button. A flow's own button or intent with this id wins
# (it is the author's); ":" keeps it out of the way of ordinary ids.
PERSON_BUTTON_ID = "parley:person"
MAX_BETWEEN = 2  # little words between a request verb and the person
NEGATION_WINDOW = 2  # words before a phrase or verb that can negate it
CLAUSE_RE = re.compile(r"[,.;:!?¡¿…()\n]+")

Words = tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    phrases: tuple[Words, ...]
    requests: tuple[Words, ...]
    between: frozenset[str]
    persons: tuple[Words, ...]
    alone: tuple[Words, ...]
    fillers: tuple[Words, ...]
    negations: frozenset[str]


def _words(phrases: list[str]) -> tuple[Words, ...]:
    # Longest first, so that removing "s il vous plait" is tried before "s".
    found = {tuple(normalize(p).split()) for p in phrases}
    return tuple(sorted((w for w in found if w), key=len, reverse=True))


def _load(path: Path) -> tuple[dict[str, Any], dict[str, Rules]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rules = {}
    for language, lists in data["languages"].items():
        rules[language] = Rules(
            phrases=_words(lists["phrases"]),
            requests=_words(lists["requests"]),
            between=frozenset(normalize(" ".join(lists["between"])).split()),
            persons=_words(lists["persons"]),
            alone=_words(lists["alone"]),
            fillers=_words(lists["fillers"]),
            negations=frozenset(normalize(" ".join(lists["negations"])).split()),
        )
    return data, rules


_DATA, RULES = _load(DATA_PATH)
BUTTON_LABEL: dict[str, str] = _DATA["button_label"]
HANDOFF_TEXT: dict[str, str] = _DATA["handoff_text"]


def asks_for_person(text: str) -> bool:
    """True when the message asks for a person, in any of the five languages. Each clause
    on its own: in "I don't have it, I want a human" the negation is the first clause's."""
    for clause in CLAUSE_RE.split(text or ""):
        words = tuple(normalize(clause).split())
        if words and any(_asks(words, rules) for rules in RULES.values()):
            return True
    return False


def _asks(words: Words, rules: Rules) -> bool:
    for start in range(len(words)):
        if _negated(words, _head(words, start, rules), rules):
            continue
        if any(_at(words, start, phrase) for phrase in rules.phrases):
            return True
        for request in rules.requests:
            if _at(words, start, request) and _person_after(words, start + len(request), rules):
                return True
    return _only_person(words, rules)


def _at(words: Words, start: int, phrase: Words) -> bool:
    return words[start : start + len(phrase)] == phrase


def _head(words: Words, start: int, rules: Rules) -> int:
    """Where the request that ends at ``start`` begins: back over little words and request
    verbs, so that "non voglio parlare con | un operatore" is negated at "voglio"."""
    while start > 0:
        if words[start - 1] in rules.between:
            start -= 1
            continue
        verb = next((r for r in rules.requests if words[max(0, start - len(r)) : start] == r), None)
        if verb is None:
            return start
        start -= len(verb)
    return start


def _negated(words: Words, start: int, rules: Rules) -> bool:
    return any(w in rules.negations for w in words[max(0, start - NEGATION_WINDOW) : start])


def _person_after(words: Words, start: int, rules: Rules) -> bool:
    if start < len(words) and words[start] in rules.negations:  # "je veux pas", "will keinen"
        return False
    for skipped in range(MAX_BETWEEN + 1):
        at = start + skipped
        if at >= len(words) or (skipped and words[at - 1] not in rules.between):
            return False
        if any(_at(words, at, person) for person in rules.persons):
            return True
    return False


def _only_person(words: Words, rules: Rules) -> bool:
    """Nothing but a person, fillers and little words: "Agent!", "un humain svp"."""
    rest, found = _remove(list(words), rules.alone)
    if not found:
        return False
    rest, _ = _remove(rest, rules.fillers)
    return all(w in rules.between for w in rest)


def _remove(words: list[str], phrases: tuple[Words, ...]) -> tuple[list[str], int]:
    """The words without any of the phrases (longest first), and how many were removed."""
    kept: list[str] = []
    removed = 0
    i = 0
    while i < len(words):
        for phrase in phrases:
            if tuple(words[i : i + len(phrase)]) == phrase:
                i += len(phrase)
                removed += 1
                break
        else:
            kept.append(words[i])
            i += 1
    return kept, removed
