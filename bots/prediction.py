"""What an intent model answers, whichever backend computed it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prediction:
    intent: str | None  # the best intent, or None if there were no intents
    confidence: float  # 0..1, compared with the node's threshold
    scores: tuple[tuple[str, float], ...]  # every intent, best first


def _clip(value: float) -> float:
    return round(max(0.0, min(1.0, value)), 4)


def prediction_from(scores: list[tuple[str, float]], *, confidence: float | None = None):
    """Rank the scores; the confidence is the best score unless the backend has its own."""
    ranked = tuple((intent, _clip(s)) for intent, s in sorted(scores, key=lambda s: -s[1]))
    if not ranked:
        return Prediction(None, 0.0, ())
    return Prediction(
        ranked[0][0], _clip(ranked[0][1] if confidence is None else confidence), ranked
    )
