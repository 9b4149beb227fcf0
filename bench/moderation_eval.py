"""The profanity filter on the labelled set (chat/pipeline/evaluation/moderation.json).

    .venv/bin/python bench/moderation_eval.py [-v] [--time] [--blind]

Prints precision and recall per language (every list loaded, the message's language
known), and with -v the misses and the false alarms. --time also prints the time per
message of the "Moderation alone" loop of bench/pipeline_latency.py (its chat texts, best
of 5 rounds). Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from chat.pipeline.evaluation import BLIND_SET_PATH, SET_PATH, scores  # noqa: E402
from chat.pipeline.moderation import moderate  # noqa: E402


def time_per_message() -> float:
    """µs per message over bench/pipeline_latency.py's chat texts (read, not imported:
    that script starts servers)."""
    source = (Path(__file__).resolve().parent / "pipeline_latency.py").read_text()
    texts = next(
        ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "TEXTS"
    )
    samples = [t.format(i=i) for i in range(50) for t in texts] * 20
    moderate("warm up")
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for text in samples:
            moderate(text, language="fr")
        best = min(best, (time.perf_counter() - started) / len(samples) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--time", action="store_true")
    parser.add_argument(
        "--blind", action="store_true", help="the blind set (evaluation/moderation_blind.json)"
    )
    args = parser.parse_args()
    print("language  n    precision  recall")
    for s in scores(BLIND_SET_PATH if args.blind else SET_PATH):
        print(f"{s.language:8}  {s.n:<4} {s.precision:9.3f}  {s.recall:6.3f}")
        if args.verbose:
            for text in s.false_negatives:
                print(f"    missed: {text}")
            for text in s.false_positives:
                print(f"    false alarm: {text}")
    if args.time:
        print(f"moderation alone: {time_per_message():.0f} µs per message")


if __name__ == "__main__":
    main()
