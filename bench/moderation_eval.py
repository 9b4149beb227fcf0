"""The profanity filter on the labelled set (chat/pipeline/evaluation/moderation.json).

    .venv/bin/python bench/moderation_eval.py [-v]

Prints precision and recall per language (every list loaded, the message's language
known), and with -v the misses and the false alarms. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from chat.pipeline.evaluation import scores  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    print("language  n    precision  recall")
    for s in scores():
        print(f"{s.language:8}  {s.n:<4} {s.precision:9.3f}  {s.recall:6.3f}")
        if args.verbose:
            for text in s.false_negatives:
                print(f"    missed: {text}")
            for text in s.false_positives:
                print(f"    false alarm: {text}")


if __name__ == "__main__":
    main()
