"""Offline language detection with lingua, restricted to the configured languages (a
site may narrow them: Site.languages, see site_detection_settings).

Short chat messages are ambiguous ("ok", "merci" scores as Italian, "no"), so a
detection counts only when lingua's confidence reaches the threshold; otherwise the
sender's known language (locale or profile) is used and marked as a fallback.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chat.pipeline import conf
from chat.pipeline.moderation_context import votes

_lock = threading.Lock()
_detectors: dict[tuple[str, ...], object] = {}


@dataclass(frozen=True)
class Detection:
    language: str  # '' when unknown
    confidence: float | None  # lingua's confidence in `language`, when it gave one
    source: str  # 'detected', 'fallback' (the sender's locale) or 'unknown'


def _detector(languages: tuple[str, ...]):
    """One detector per process and language set; built on first use (about 2 s and
    190 MB for five languages), which is why detection runs in Celery, not at send."""
    detector = _detectors.get(languages)
    if detector is not None:
        return detector
    with _lock:
        if languages not in _detectors:
            from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

            langs = []
            for code in languages:
                iso = getattr(IsoCode639_1, code.upper(), None)
                if iso is not None:
                    langs.append(Language.from_iso_code_639_1(iso))
            if len(langs) < 2:
                raise ValueError("language detection needs at least two known languages")
            _detectors[languages] = (
                LanguageDetectorBuilder.from_languages(*langs)
                .with_preloaded_language_models()
                .build()
            )
    return _detectors[languages]


def detect(
    text: str,
    *,
    fallback: str = "",
    languages: tuple[str, ...] | None = None,
    threshold: float | None = None,
    min_length: int | None = None,
) -> Detection:
    """The language of ``text`` among ``languages`` (default: the configured ones). A text
    with fewer than ``min_length`` letters (default DETECTION_MIN_LENGTH) is not detected:
    "ok", "merci", "Danke!" say little, and the sender's locale says more."""
    languages = languages or conf.languages()
    threshold = conf.cfg("DETECTION_THRESHOLD") if threshold is None else threshold
    min_length = int(conf.cfg("DETECTION_MIN_LENGTH")) if min_length is None else min_length
    prose = scrub(text)
    letters = sum(ch.isalpha() for ch in prose)
    values = []
    long_enough = letters >= max(min_length, 1)
    if long_enough:
        values = _detector(tuple(languages)).compute_language_confidence_values(prose)
    scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    if values:
        top = values[0]
        code = top.language.iso_code_639_1.name.lower()
        if _trusted(prose, letters, values, threshold, fallback):
            return Detection(code, round(top.value, 3), "detected")
    # Too short for lingua ("merci", "danke schön", "no gracias") and no locale to fall
    # back to: the chat words decide. With a locale, the locale does, as before: a first
    # message settles the conversation's language, and "merci" from a Swiss German or
    # "hola" on a French shop says less about the customer than their browser does.
    by_words = chat_words_language(prose, languages) if long_enough and not fallback else ""
    if by_words:
        return Detection(by_words, round(scores.get(by_words, 0.0), 3), "detected")
    if fallback:
        confidence = scores.get(fallback)
        return Detection(
            fallback, round(confidence, 3) if confidence is not None else None, "fallback"
        )
    return Detection("", None, "unknown")


# What lingua should not read: links, addresses, order and tracking codes, @handles and
# #tags, and acronyms (in a text that is not all capitals). They are not words of any
# language, yet a detector scores their letters ("SKU-4471-B" reads German, a URL English),
# and they count as letters for the length rules.
_NOT_PROSE = re.compile(
    r"(?:https?://|www\.)\S+"  # links
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|(?<!\w)[@#][\w-]+"  # handles and tags
    r"|(?<![\w-])[\w-]*\d[\w-]*(?![\w-])"  # anything with a digit: codes, numbers, sizes
    r"|(?<![\w/.])[\w-]+(?:\.[\w-]+)*\.[a-z]{2,6}/\S*"  # host/path: shop.example.com/o/1
)
_ACRONYM = re.compile(r"(?<!\w)[A-Z][A-Z-]*[A-Z](?!\w)")


def scrub(text: str) -> str:
    """The text with what is not prose blanked out (see _NOT_PROSE)."""
    out = _NOT_PROSE.sub(" ", text)
    if any(ch.islower() for ch in out):
        out = _ACRONYM.sub(" ", out)
    return " ".join(out.split())


# A sentence gives lingua enough to rank the languages right even when its confidence is
# spread below the threshold ("How do I reset my password?": en 0.37, it 0.32): on every
# set measured, its first choice for a text of 15 letters or more leading the second by
# 0.03 was right (docs/benchmarks.md "Detection: a sentence's lead"). Short texts keep the
# threshold: "non", "vale", "hallo" lead by as much and are wrong as often as right.
LEAD_MIN_LETTERS = 15
LEAD_MARGIN = 0.03
# Against the sender's locale a narrow lead is not enough: a few loanwords, names or
# product words in a sentence of the locale's language tip lingua's ranking. There the lead
# counts only when the text's function words agree (more of them belong to lingua's first
# choice than to the locale: "How do I reset my password?" from a German locale).


def _trusted(prose: str, letters: int, values: list, threshold: float, fallback: str) -> bool:
    """Whether lingua's first choice counts. A single word or a few letters ("thx!",
    "moin", "nickel", "salut") is scored wrongly at 0.5-0.65 often enough that against the
    sender's locale it needs DETECTION_SHORT_THRESHOLD (0.8): below it a wrong first choice
    would overrule a right locale, settle the conversation's language and set the
    translations' source; at it, a short text still corrects a wrong locale ("merci
    beaucoup" from an English browser). With no locale, or agreeing with it, the ordinary
    threshold: there the first choice is right far more often than not, and the
    alternative is no answer at all (a blind probe: 24 of 26 right at 0.5, against 18 of
    18 at 0.8 with 6 fewer answered)."""
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    if _short(prose, letters):
        if fallback and code != fallback:
            return top.value >= max(threshold, float(conf.cfg("DETECTION_SHORT_THRESHOLD")))
        return top.value >= threshold
    if top.value >= threshold:
        return True
    if len(values) < 2 or letters < LEAD_MIN_LETTERS:
        return False
    if top.value - values[1].value < LEAD_MARGIN:
        return False
    if fallback and code != fallback:
        counted = votes(prose)
        return counted.get(code, 0.0) > counted.get(fallback, 0.0)
    return True


def _short(prose: str, letters: int) -> bool:
    return letters < int(conf.cfg("DETECTION_SHORT_LENGTH")) or len(prose.split()) < 2


NEUTRAL_WORDS = frozenset({"ok", "okay", "k", "kk"})
_TOKEN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")  # "d'accord", typed or curly


@lru_cache(maxsize=1)
def _chat_words() -> dict[str, frozenset[str]]:
    """Each chat word (data/chat_words.json) and the languages it belongs to."""
    data = json.loads((Path(__file__).parent / "data" / "chat_words.json").read_text())
    owners: dict[str, set[str]] = {}
    for language, words in data.items():
        if language != "about":
            for word in words:
                owners.setdefault(word.casefold(), set()).add(language)
    return {word: frozenset(langs) for word, langs in owners.items()}


def chat_words_language(text: str, languages: tuple[str, ...]) -> str:
    """The language of a message made only of chat words ("merci", "no gracias", "ok
    danke") when its deciding words all point to one of ``languages``; else ''."""
    words = [w.casefold().replace("\u2019", "'") for w in _TOKEN.findall(text)]
    if not words or len(words) > 6:
        return ""
    known = _chat_words()
    candidates = set(languages)
    decided = False
    for word in words:
        if word in NEUTRAL_WORDS:
            continue
        owners = known.get(word)
        if owners is None:
            return ""  # a word of its own: not a chat formula
        if len(owners) == 1:
            decided = True
        candidates &= owners
    return next(iter(candidates)) if decided and len(candidates) == 1 else ""


def warm_up() -> None:
    """Build the detector now (a worker calls this at start, so the first message of the
    day does not pay for loading the models)."""
    _detector(conf.languages())


def site_detection_settings(
    site_languages: list | None, site_min_length: int | None
) -> tuple[tuple[str, ...], int]:
    """The languages and minimum length for a site: its own list (those of them that are
    configured, at least two) and length, else the configured ones."""
    configured = conf.languages()
    own = tuple(dict.fromkeys(c for c in (site_languages or []) if c in configured))
    languages = own if len(own) >= 2 else configured
    min_length = (
        site_min_length if site_min_length is not None else conf.cfg("DETECTION_MIN_LENGTH")
    )
    return languages, int(min_length)
