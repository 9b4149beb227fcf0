"""The intent classifiers on the demo flow's held-out set (bots/flows/*.eval.json).

That node has 40 examples per intent (8 per language), where character n-grams do well;
the few-shot multilingual set is tests/bots/test_intent_evaluation.py.

Floors (justified in docs/architecture.md, "Bots"): TF-IDF measured 0.875 top-1 on the
120 in-scope utterances and 0.83 correct decisions at its threshold over all 132; the
sentence encoder 0.89 top-1 and 0.8% routed to a wrong queue. With n = 120 the standard
error is about 0.03, so the floors sit about two standard errors under the measurement: an
edit of the examples does not trip them, a real regression does.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from bots.demo import DEMO_EVAL_PATH, DEMO_FLOW_PATH
from bots.intents import (
    EncoderIntentModel,
    TfidfIntentModel,
    build_model,
    configured_backend,
    intent_examples,
    model_for,
    normalize,
    threshold_for,
)

TOP1_FLOOR = 0.80
DECISION_FLOOR = 0.75
PER_LANGUAGE_FLOOR = 0.65
LANGUAGES = {"en", "fr", "it", "es", "de"}


def _load():
    flow = json.loads(DEMO_FLOW_PATH.read_text())
    evaluation = json.loads(DEMO_EVAL_PATH.read_text())
    node = flow["graph"]["nodes"][evaluation["node"]]
    return node, evaluation["utterances"]


def evaluate(model, node, utterances) -> dict:
    threshold = threshold_for(node, model.backend)
    per_lang: dict[str, list[bool]] = defaultdict(list)
    top1, decisions, wrong = [], [], []
    for u in utterances:
        prediction = model.predict(u["text"])
        decided = prediction.intent if prediction.confidence >= threshold else None
        decisions.append(decided == u["intent"])
        wrong.append(decided is not None and decided != u["intent"])
        if u["intent"] is not None:
            top1.append(prediction.intent == u["intent"])
            per_lang[u["lang"]].append(prediction.intent == u["intent"])
    return {
        "top1": sum(top1) / len(top1),
        "decision": sum(decisions) / len(decisions),
        "wrong_queue": sum(wrong) / len(wrong),
        "per_language": {k: sum(v) / len(v) for k, v in sorted(per_lang.items())},
        "n_in_scope": len(top1),
        "n_all": len(decisions),
    }


def test_the_evaluation_set_is_held_out_and_covers_five_languages():
    node, utterances = _load()
    training = {normalize(p) for phrases in intent_examples(node["intents"]).values()
                for p in phrases}  # fmt: skip
    assert not [u["text"] for u in utterances if normalize(u["text"]) in training]
    assert {u["lang"] for u in utterances} == LANGUAGES
    intents = {i["id"] for i in node["intents"]}
    assert {u["intent"] for u in utterances} == intents | {None}
    for lang in LANGUAGES:
        for intent in intents:
            assert sum(u["lang"] == lang and u["intent"] == intent for u in utterances) >= 5


def test_tfidf_accuracy_on_the_held_out_set():
    node, utterances = _load()
    model = TfidfIntentModel(intent_examples(node["intents"]))
    result = evaluate(model, node, utterances)
    print(
        f"\nintent accuracy (tfidf): top-1 {result['top1']:.3f} on {result['n_in_scope']} "
        f"in-scope; decisions: {result['decision']:.3f} on "
        f"{result['n_all']}; per language {result['per_language']}"
    )
    assert result["top1"] >= TOP1_FLOOR
    assert result["decision"] >= DECISION_FLOOR
    assert min(result["per_language"].values()) >= PER_LANGUAGE_FLOOR


def test_encoder_accuracy_on_the_held_out_set():
    node, utterances = _load()
    model = EncoderIntentModel(intent_examples(node["intents"]))
    result = evaluate(model, node, utterances)
    print(f"\nintent accuracy (use): {result}")
    assert result["top1"] >= 0.83
    assert result["wrong_queue"] <= 0.05
    assert min(result["per_language"].values()) >= 0.75


def test_normalize_strips_case_accents_and_punctuation():
    assert normalize("Où est-ce ?  Straße!") == "ou est ce strasse"
    assert normalize("   ") == ""


@pytest.mark.parametrize("backend", ["use", "tfidf"])
def test_an_empty_or_foreign_text_has_no_confidence(backend):
    node, _ = _load()
    model = build_model(intent_examples(node["intents"]), backend)
    threshold = threshold_for(node, backend)
    assert model.predict("").confidence == 0.0
    assert model.predict("   ").confidence == 0.0
    assert model.predict("!!!").confidence < threshold
    assert model.predict("カタカナ").confidence < threshold
    assert model.predict("asdfgh").confidence < threshold


def test_the_default_backend_is_the_multilingual_encoder_with_its_own_threshold():
    assert configured_backend() == "use"
    assert isinstance(build_model({"a": ["hello"]}), EncoderIntentModel)
    assert threshold_for({}) == EncoderIntentModel.default_threshold
    assert threshold_for({}, "tfidf") == TfidfIntentModel.default_threshold
    assert threshold_for({"threshold": 0.6}) == 0.6  # the node's own wins


def test_the_encoder_matches_across_languages():
    """Training phrases in one language, a customer in another."""
    model = EncoderIntentModel(
        {
            "late": ["where is my parcel", "my order has not arrived"],
            "refund": ["I want my money back", "I would like a refund"],
        }
    )
    assert model.predict("mon colis n'est toujours pas arrivé").intent == "late"
    assert model.predict("quiero que me devuelvan el dinero").intent == "refund"
    assert model.predict("wo bleibt meine Sendung").intent == "late"


def test_models_are_cached_by_their_examples_and_backend():
    """The cache key is the examples themselves. Keyed by flow version id it served one
    graph's model to another whose version got the same id (SQLite reuses the ids of
    rolled-back rows: 32 engine tests failed in a full embedded run)."""
    node, _ = _load()
    first = model_for(intents=node["intents"], backend="tfidf")
    assert model_for(intents=json.loads(json.dumps(node["intents"])), backend="tfidf") is first
    other = [
        {"id": "refund", "examples": {"en": ["I want my money back", "refund my order"]}},
        {"id": "hours", "examples": {"en": ["when are you open", "opening hours"]}},
    ]
    model = model_for(intents=other, backend="tfidf")
    assert model is not first
    assert model.predict("refund please").intent == "refund"
    assert model_for(intents=other[:1], backend="tfidf") is not model


def test_an_unknown_backend_falls_back_to_the_default(caplog):
    assert isinstance(build_model({"a": ["x"]}, "bogus"), EncoderIntentModel)
    assert "bogus" in caplog.text
