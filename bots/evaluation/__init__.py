"""The held-out intent evaluation (bots/evaluation/intents/, see its README.md).

Shared by the test that holds the floors (tests/bots/test_intent_evaluation.py) and the
bench script that prints every figure (bench/intent_eval.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INTENTS_DIR = Path(__file__).resolve().parent / "intents"
LANGUAGES = ("en", "fr", "it", "es", "de")
SPLITS = ("dev", "test")


@dataclass(frozen=True)
class Case:
    lang: str
    intent: str | None  # None: out of scope, should get a question, never a queue
    text: str


@dataclass
class Result:
    threshold: float
    top1: float  # in-scope cases whose best intent is right
    decided_right: float  # all cases: confident and right
    wrong_queue: float  # all cases: confident and wrong (out-of-scope ones included)
    asked: float  # all cases: a clarifying question
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    n: int = 0
    n_in_scope: int = 0


def training_intents() -> list[dict[str, Any]]:
    """The site owner's intents: ids, labels and at most 8 examples each."""
    return json.loads((INTENTS_DIR / "training.json").read_text())["intents"]


def cases(split: str, languages: tuple[str, ...] = LANGUAGES) -> list[Case]:
    out: list[Case] = []
    for lang in languages:
        data = json.loads((INTENTS_DIR / f"{lang}.json").read_text())
        for intent, phrases in data[split].items():
            out.extend(Case(lang, intent, text) for text in phrases)
        out.extend(Case(lang, None, text) for text in data["out_of_scope"][split])
    return out


def _rates(rows: list[tuple[Case, str | None, float]], threshold: float) -> dict[str, float]:
    in_scope = [(c, p) for c, p, _ in rows if c.intent is not None]
    decided = [(c, p) for c, p, conf in rows if conf >= threshold]
    n = len(rows) or 1
    return {
        "top1": sum(c.intent == p for c, p in in_scope) / (len(in_scope) or 1),
        "decided_right": sum(c.intent == p for c, p in decided) / n,
        "wrong_queue": sum(c.intent != p for c, p in decided) / n,
        "asked": 1 - len(decided) / n,
    }


def predictions(model, split_cases: list[Case]) -> list[tuple[Case, str | None, float]]:
    rows = []
    for case in split_cases:
        prediction = model.predict(case.text)
        rows.append((case, prediction.intent, prediction.confidence))
    return rows


def evaluate(rows: list[tuple[Case, str | None, float]], threshold: float) -> Result:
    by_lang: dict[str, list] = defaultdict(list)
    for row in rows:
        by_lang[row[0].lang].append(row)
    return Result(
        threshold=threshold,
        **_rates(rows, threshold),
        per_language={lang: _rates(r, threshold) for lang, r in sorted(by_lang.items())},
        n=len(rows),
        n_in_scope=sum(c.intent is not None for c, _, _ in rows),
    )


def choose_threshold(rows: list[tuple[Case, str | None, float]], max_wrong: float) -> float:
    """The lowest threshold whose wrong-queue rate is at most max_wrong (fewest questions)."""
    for threshold in sorted({round(conf, 3) for _, _, conf in rows} | {1.0}):
        if _rates(rows, threshold)["wrong_queue"] <= max_wrong:
            return threshold
    return 1.0
