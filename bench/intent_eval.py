"""Intent models on the held-out multilingual set (bots/evaluation/intents/).

    .venv/bin/python bench/intent_eval.py [--backend use,tfidf] [--max-wrong 0.04]

For each backend: train on the few-shot protocol (training.json: 7 phrases per intent
across five languages), choose the threshold on the dev split (the lowest whose
wrong-queue rate is at most --max-wrong), then report the test split at that threshold and
at the backend's default, per language, and the time per phrase. The figures go in
docs/benchmarks.md ("Intents"). Needs no database or server.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from bots.evaluation import (  # noqa: E402
    LANGUAGES,
    cases,
    choose_threshold,
    evaluate,
    predictions,
    training_intents,
)
from bots.intents import BACKENDS, build_model, intent_examples  # noqa: E402


def show(label: str, result) -> None:
    print(
        f"  {label}: threshold {result.threshold:.3f}  top-1 {result.top1:.3f} "
        f"(n={result.n_in_scope})  routed right {result.decided_right:.3f}  "
        f"wrong queue {result.wrong_queue:.3f}  asked {result.asked:.3f} (n={result.n})"
    )
    print("    " + "  ".join(f"{lang}" + " " * 17 for lang in result.per_language))
    print(
        "    "
        + "  ".join(
            f"top1 {r['top1']:.2f} wrong {r['wrong_queue']:.2f}"
            for r in result.per_language.values()
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="use,tfidf")
    parser.add_argument("--max-wrong", type=float, default=0.04)
    args = parser.parse_args()
    examples = intent_examples(training_intents())
    print(
        f"training: {sum(map(len, examples.values()))} phrases for {len(examples)} intents; "
        f"languages {', '.join(LANGUAGES)}"
    )
    dev, test = cases("dev"), cases("test")
    for backend in args.backend.split(","):
        started = time.perf_counter()
        model = build_model(examples, backend)
        trained = time.perf_counter() - started
        dev_rows = predictions(model, dev)
        started = time.perf_counter()
        test_rows = predictions(model, test)
        per_phrase = (time.perf_counter() - started) / len(test) * 1000
        chosen = choose_threshold(dev_rows, args.max_wrong)
        default = BACKENDS[backend].default_threshold
        print(f"\n{backend}: trained in {trained:.2f} s, {per_phrase:.2f} ms per phrase")
        show("dev, chosen threshold", evaluate(dev_rows, chosen))
        show("test, chosen threshold", evaluate(test_rows, chosen))
        show("test, default threshold", evaluate(test_rows, default))


if __name__ == "__main__":
    main()
