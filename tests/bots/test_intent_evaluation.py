"""The default intent model on the held-out multilingual set (bots/evaluation/intents/).

The protocol is fixed: seven training phrases per intent across five languages, as a site
owner would give; the threshold was chosen on the dev split; these floors are on the test
split (600 in-scope phrases, 40 out of scope). Measured (docs/benchmarks.md, "Intents"):
top-1 0.853, 2.2% routed to a wrong queue. The floors are the issue's targets where the
measurement meets them with room (wrong queue), and two standard errors (about 0.03 at
n = 600) under the measurement where it does not (top-1 overall and per language).
"""

from __future__ import annotations

import pytest

from bots.evaluation import (
    LANGUAGES,
    SPLITS,
    cases,
    choose_threshold,
    evaluate,
    predictions,
    training_intents,
)
from bots.intents import (
    EncoderIntentModel,
    TfidfIntentModel,
    build_model,
    intent_examples,
    normalize,
)


@pytest.fixture(scope="module")
def encoder_rows():
    model = build_model(intent_examples(training_intents()), "use")
    return {split: predictions(model, cases(split)) for split in SPLITS}


def test_the_set_follows_the_protocol():
    intents = training_intents()
    ids = {i["id"] for i in intents}
    assert len(ids) >= 6
    training = set()
    for intent in intents:
        phrases = [p for ps in intent["examples"].values() for p in ps]
        assert len(phrases) <= 8, intent["id"]
        training |= {normalize(p) for p in phrases}
    for split in SPLITS:
        split_cases = cases(split)
        assert not [c.text for c in split_cases if normalize(c.text) in training]
        for lang in LANGUAGES:
            for intent in ids:
                n = sum(c.lang == lang and c.intent == intent for c in split_cases)
                assert n >= (20 if split == "test" else 6), (split, lang, intent)
            assert sum(c.lang == lang and c.intent is None for c in split_cases) >= 4
    # dev and test never share a phrase: the threshold is chosen on one, reported on the other
    dev = {normalize(c.text) for c in cases("dev")}
    assert not dev & {normalize(c.text) for c in cases("test")}


def test_the_default_threshold_is_the_one_the_dev_split_chooses(encoder_rows):
    chosen = choose_threshold(encoder_rows["dev"], max_wrong=0.04)
    assert abs(chosen - EncoderIntentModel.default_threshold) <= 0.01


def test_encoder_on_the_test_split(encoder_rows):
    result = evaluate(encoder_rows["test"], EncoderIntentModel.default_threshold)
    print(f"\nintents (use), test split: {result}")
    assert result.top1 >= 0.83
    assert result.wrong_queue <= 0.05
    for lang, figures in result.per_language.items():
        assert figures["top1"] >= 0.77, lang
        assert figures["wrong_queue"] <= 0.05, lang


def test_out_of_scope_requests_mostly_get_a_question(encoder_rows):
    threshold = EncoderIntentModel.default_threshold
    out = [conf for case, _, conf in encoder_rows["test"] if case.intent is None]
    assert sum(conf < threshold for conf in out) / len(out) >= 0.7


def test_the_encoder_beats_the_ngrams_few_shot(encoder_rows):
    """The reason for the default: n-grams need the customers' own words."""
    tfidf = TfidfIntentModel(intent_examples(training_intents()))
    ngram = evaluate(predictions(tfidf, cases("test")), tfidf.default_threshold)
    encoder = evaluate(encoder_rows["test"], EncoderIntentModel.default_threshold)
    assert encoder.top1 >= ngram.top1 + 0.2
