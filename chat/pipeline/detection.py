"""Offline language detection with lingua, restricted to the configured languages (a
site may narrow them: Site.languages, see site_detection_settings).

Short chat messages are ambiguous ("ok", "merci" scores as Italian, "no"), so a
detection counts only when lingua's confidence reaches the threshold; otherwise the
sender's known language (locale or profile) is used and marked as a fallback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from chat.pipeline import conf

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
    values = []
    if sum(ch.isalpha() for ch in text) >= max(min_length, 1):
        values = _detector(tuple(languages)).compute_language_confidence_values(text)
    scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
    if values:
        top = values[0]
        code = top.language.iso_code_639_1.name.lower()
        if top.value >= threshold or _clear_lead(text, values):
            return Detection(code, round(top.value, 3), "detected")
    if fallback:
        confidence = scores.get(fallback)
        return Detection(
            fallback, round(confidence, 3) if confidence is not None else None, "fallback"
        )
    return Detection("", None, "unknown")


# A sentence gives lingua enough to rank the languages right even when its confidence is
# spread below the threshold ("How do I reset my password?": en 0.37, it 0.32): on every
# set measured, its first choice for a text of 15 letters or more leading the second by
# 0.03 was right (docs/benchmarks.md "Detection: a sentence's lead"). Short texts keep the
# threshold: "non", "vale", "hallo" lead by as much and are wrong as often as right.
LEAD_MIN_LETTERS = 15
LEAD_MARGIN = 0.03


def _clear_lead(text: str, values: list) -> bool:
    return (
        len(values) > 1
        and sum(ch.isalpha() for ch in text) >= LEAD_MIN_LETTERS
        and values[0].value - values[1].value >= LEAD_MARGIN
    )


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
