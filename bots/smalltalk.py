"""Small talk the bot answers instead of treating it as a wrong answer.

A customer who opens the chat often writes "Hello" before reading the question the bot
already asked. That is not an invalid answer: the bot says hello back and asks again,
without counting a retry. Pure functions; the engine decides what to do with the answer.
"""

from __future__ import annotations

import re
import unicodedata

# Greetings in the five languages the demo serves, lower-case and without accents.
GREETINGS = frozenset(
    [
        "",
        "    hi hello hey hiya howdy yo greetings good morning good afternoon good evening",
        "    hi there hello there hey there",
        "    bonjour bonsoir salut coucou allo",
        "    ciao salve buongiorno buonasera",
        "    hola buenas buenos dias buenas tardes buenas noches",
        "    hallo guten tag guten morgen guten abend servus moin gruss gott",
        "    ",
    ]
)
_WORDS = frozenset(w for line in GREETINGS for w in line.split())
_TRAILING = re.compile(r"[\s!.,?¡¿:;)(\-~*]+")
_FILLERS = frozenset({"there", "all", "everyone", "team", "a", "tous", "tutti", "zusammen"})


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _TRAILING.sub(" ", text).strip()


def is_greeting(text: str) -> bool:
    """True for a message that only greets ("Hello!", "hi there", "Bonjour", "Guten Tag"),
    false for one that also asks something ("Hello, where is my order?")."""
    words = _normal(text).split()
    if not words or len(words) > 4:
        return False
    rest = [w for w in words if w not in _FILLERS]
    return bool(rest) and all(w in _WORDS for w in rest)
