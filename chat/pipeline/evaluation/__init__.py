"""The labelled moderation set (moderation.json here, see README.md): precision and recall
per language. Shared by tests/pipeline/test_moderation_eval.py and bench/moderation_eval.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from chat.pipeline.moderation import LIST_LANGUAGES, moderate

SET_PATH = Path(__file__).resolve().parent / "moderation.json"
# A second set, written blind by a reviewer who had not read the lists (its "about" says more).
BLIND_SET_PATH = Path(__file__).resolve().parent / "moderation_blind.json"


@dataclass(frozen=True)
class Scores:
    language: str
    n: int
    precision: float
    recall: float
    false_positives: tuple[str, ...]
    false_negatives: tuple[str, ...]


def messages(path: Path = SET_PATH) -> dict[str, list[dict]]:
    return json.loads(path.read_text())["messages"]


def score(language: str, cases: list[dict]) -> Scores:
    """Each message moderated as the pipeline does: every list loaded, the message's
    language known (the sender's locale or the detected language)."""
    tp, fp, fn = [], [], []
    for case in cases:
        flagged = not moderate(case["text"], language=language, languages=LIST_LANGUAGES).clean
        if flagged and case["offensive"]:
            tp.append(case["text"])
        elif flagged:
            fp.append(case["text"])
        elif case["offensive"]:
            fn.append(case["text"])
    return Scores(
        language=language,
        n=len(cases),
        precision=len(tp) / ((len(tp) + len(fp)) or 1),
        recall=len(tp) / ((len(tp) + len(fn)) or 1),
        false_positives=tuple(fp),
        false_negatives=tuple(fn),
    )


def scores(path: Path = SET_PATH) -> list[Scores]:
    return [score(language, cases) for language, cases in messages(path).items()]
