"""Language detection (lingua) on the held-out phrases of bots/evaluation/intents/.

    .venv/bin/python bench/detection_eval.py [--languages en,fr,it,es,de] [--split test]
        [--short | --file PATH] [--locale none|right|wrong]

Every phrase (in scope and out of scope) is detected among --languages, as the pipeline
does: at the detection threshold, with each minimum length (letters) below which the
pipeline keeps the sender's locale instead. Prints, per language: accuracy of what was
detected, and the share left to the locale. Figures go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from bots.evaluation import LANGUAGES, Case, cases  # noqa: E402
from chat.pipeline import conf, detection  # noqa: E402

SHORT_PATH = Path(__file__).resolve().parent.parent / "chat/pipeline/evaluation/short_messages.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--split", default="test", choices=["dev", "test"])
    parser.add_argument("--min-lengths", default="0,5,10,15,20")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument(
        "--short", action="store_true", help="chat/pipeline/evaluation/short_messages.json"
    )
    parser.add_argument(
        "--file", type=Path, help="another set in the same shape, e.g. the blind one: "
        "chat/pipeline/evaluation/detection_blind.json",
    )  # fmt: skip
    parser.add_argument(
        "--locale",
        default="none",
        choices=["none", "right", "wrong"],
        help="the sender's locale passed as the fallback: none, the phrase's own language, "
        "or another one (the next in --languages): how often a wrong locale is overruled "
        "rightly (cells then count only what overruled or confirmed the locale)",
    )
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))
    if args.short or args.file:
        data = json.loads((args.file or SHORT_PATH).read_text())
        phrases = [Case(lang, None, text) for lang in languages for text in data[lang]]
    else:
        phrases = [c for c in cases(args.split) if c.lang in languages]
    print(
        f"{len(phrases)} phrases ({'short' if args.short else args.split}), detected among {', '.join(languages)}, "
        f"threshold {conf.cfg('DETECTION_THRESHOLD') if args.threshold is None else args.threshold}"
    )
    print("min length  " + "  ".join(f"{lang:>15}" for lang in languages) + "   all")
    for min_length in map(int, args.min_lengths.split(",")):
        right, decided, total = defaultdict(int), defaultdict(int), defaultdict(int)
        for case in phrases:
            fallback = {
                "none": "",
                "right": case.lang,
                "wrong": languages[(languages.index(case.lang) + 1) % len(languages)],
            }[args.locale]
            found = detection.detect(
                case.text,
                fallback=fallback,
                languages=languages,
                min_length=min_length,
                threshold=args.threshold,
            )
            total[case.lang] += 1
            if found.source == "detected":
                decided[case.lang] += 1
                right[case.lang] += found.language == case.lang
        cells = [
            f"{right[lang] / max(decided[lang], 1):.3f} ({1 - decided[lang] / total[lang]:.0%})"
            for lang in languages
        ]
        all_right, all_decided = sum(right.values()), sum(decided.values())
        print(
            f"{min_length:>10}  "
            + "  ".join(f"{c:>15}" for c in cells)
            + f"   {all_right / max(all_decided, 1):.3f} ({1 - all_decided / len(phrases):.0%})"
        )
    print("cells: accuracy of what was detected (share left to the sender's locale)")


if __name__ == "__main__":
    main()
