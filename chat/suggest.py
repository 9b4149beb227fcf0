"""Autocomplete for agents: whole replies learned from a site's past agent messages,
offered as the agent types, ranked for the conversation's queue and intent.

An index per site is built in memory from the site's most recent agent messages
(``SUGGEST_CORPUS``) and rebuilt after ``SUGGEST_TTL`` seconds: a suggestion is a sorted
prefix range and a small ranking, with no query on the hot path but the conversation's
own row (bench/suggest_bench.py measures both the keystrokes saved and the latency). A
reply counts for a queue and an intent when it was written in a conversation of that
queue, after a bot hand-off that named that intent.
"""

from __future__ import annotations

import bisect
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chat.actors import Actor
from chat.exceptions import NotFound, ValidationError
from chat.models import Message, Note, Participant
from chat.selectors import conversation_get_for_actor

SUGGEST_CORPUS = 5000  # the site's latest agent messages it learns from
SUGGEST_TTL = 300.0  # seconds before an index is rebuilt
MIN_PREFIX = 3
MAX_PREFIX = 200
LIMIT = 3
MIN_USES = 2  # a reply written once is not a habit yet
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _SPACES.sub(" ", text.strip().lower())


@dataclass
class SiteIndex:
    built_at: float
    keys: list[str] = field(default_factory=list)  # normalized replies, sorted
    text: dict[str, str] = field(default_factory=dict)  # normalized -> the most used spelling
    uses: Counter = field(default_factory=Counter)  # normalized -> uses on the site
    by_queue: Counter = field(default_factory=Counter)  # (normalized, queue id) -> uses
    by_intent: Counter = field(default_factory=Counter)  # (normalized, queue, intent) -> uses

    def rank(self, prefix: str, queue_id: int | None, intent: str | None) -> list[str]:
        start = bisect.bisect_left(self.keys, prefix)
        stop = bisect.bisect_left(self.keys, prefix + "\uffff")
        scored = []
        for key in self.keys[start : min(stop, start + 500)]:
            score = (
                self.by_intent[(key, queue_id, intent)] * 100
                + self.by_queue[(key, queue_id)] * 10
                + self.uses[key]
            )
            scored.append((-score, len(key), key))
        scored.sort()
        return [self.text[key] for _, _, key in scored[:LIMIT] if key != prefix]


_indexes: dict[int, SiteIndex] = {}
_lock = threading.Lock()


def index_build(site_id: int) -> SiteIndex:
    """Learn the site's habits from its latest agent messages (one query each for the
    messages and the hand-off intents)."""
    rows = list(
        Message.objects.filter(
            conversation__site_id=site_id,
            sender__role=Participant.Role.AGENT,
            kind=Message.Kind.TEXT,
        )
        .order_by("-id")
        .values_list("body", "conversation_id", "conversation__queue_id")[:SUGGEST_CORPUS]
    )
    intents = dict(
        Note.objects.filter(
            conversation_id__in={c for _, c, _ in rows}, kind=Note.Kind.HANDOFF
        ).values_list("conversation_id", "data__intent")
    )
    index = SiteIndex(built_at=time.monotonic())
    spellings: dict[str, Counter] = {}
    for body, conversation_id, queue_id in rows:
        key = normalize(body)
        if not key or len(key) > 1000:
            continue
        index.uses[key] += 1
        index.by_queue[(key, queue_id)] += 1
        index.by_intent[(key, queue_id, intents.get(conversation_id))] += 1
        spellings.setdefault(key, Counter())[body.strip()] += 1
    for key, count in index.uses.items():
        if count >= MIN_USES:
            index.text[key] = spellings[key].most_common(1)[0][0]
    index.keys = sorted(index.text)
    return index


def site_index(site_id: int) -> SiteIndex:
    index = _indexes.get(site_id)
    if index is None or time.monotonic() - index.built_at > SUGGEST_TTL:
        with _lock:
            index = _indexes.get(site_id)
            if index is None or time.monotonic() - index.built_at > SUGGEST_TTL:
                index = _indexes[site_id] = index_build(site_id)
    return index


def index_forget() -> None:
    """Drop every index (tests; a site's data changed wholesale)."""
    _indexes.clear()


def suggestions_for(*, actor: Actor, conversation_id: int, prefix: Any) -> list[str]:
    """Up to three whole replies that start with what the agent typed, best first for
    this conversation's queue and intent."""
    if actor.kind != "agent":
        raise NotFound("No such conversation.")
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX:
        raise ValidationError(f"prefix must be a string of at most {MAX_PREFIX}.", field="prefix")
    typed = normalize(prefix)
    conversation = conversation_get_for_actor(actor=actor, conversation_id=conversation_id)
    if len(typed) < MIN_PREFIX:
        return []
    intent = (
        Note.objects.filter(conversation_id=conversation.pk, kind=Note.Kind.HANDOFF)
        .order_by("-id")
        .values_list("data__intent", flat=True)
        .first()
    )
    return site_index(conversation.site_id).rank(typed, conversation.queue_id, intent)
