"""Language-aware routing: who should take a conversation whose language is settled.

Rules (the decision's reason and its data say which one applied):

- ``none``: the conversation's language is not settled yet (detection has not confirmed
  it): routing as before.
- ``prefer``: a translation engine works, so anyone can serve it, but an agent who speaks
  the language serves it better: speakers first, then anyone.
- ``require``: no translation engine works (off, cannot run, or its last call failed):
  only an agent who speaks the language, so that nobody gets text they cannot read...
- ``relaxed``: ...until the entry has waited ``ROUTING_LANGUAGE_WAIT`` seconds: then
  speakers first, then anyone (a reply in the wrong language beats no reply).

The pick exists twice, in Python (decision._pick) and in routing/sql/route_pick.sql;
``rule_for`` is the one home of the rule in Python, and the SQL computes the same from the
same inputs (the conversation's settled language, the entry's enqueue time, whether
translation works, the wait), held equal by tests/routing/test_server_decision.py.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from django.conf import settings

from chat.pipeline import engines
from chat.pipeline.health import translation_status
from chat.pipeline.languages import base_language

# Whether translation works, asked once per few seconds per process, not per decision:
# its health is a cache read, and a decision costs well under a millisecond.
_MEMO_SECONDS = 5.0
_memo: dict[str, tuple[float, bool, str]] = {}
_memo_lock = threading.Lock()


def translation_ok() -> tuple[bool, str]:
    """(works, why not) for the configured engine."""
    key = engines.configured_engine()
    now = time.monotonic()
    with _memo_lock:
        hit = _memo.get(key)
        if hit and now - hit[0] < _MEMO_SECONDS:
            return hit[1], hit[2]
    status = translation_status()
    works, why = status["state"] == "ready", status["reason"] or ""
    with _memo_lock:
        _memo[key] = (now, works, why)
    return works, why


def translation_memo_clear() -> None:
    with _memo_lock:
        _memo.clear()


def language_wait() -> int:
    return int(settings.PARLEY["ROUTING_LANGUAGE_WAIT"])


@dataclass(frozen=True)
class LanguageRule:
    rule: str  # none | prefer | require | relaxed
    language: str  # the conversation's settled language ('' for none)
    translation: str  # why translation does not work ('' when it does)
    wait: int  # ROUTING_LANGUAGE_WAIT at the decision

    def phases(self) -> tuple[str, ...]:
        """The language filter of each pass of the pick: speakers, then anyone."""
        if self.rule == "none":
            return ("",)
        if self.rule == "require":
            return (self.language,)
        return (self.language, "")

    def why(self, *, speaks: bool) -> str:
        """The words added to an offer's reason."""
        lang = self.language
        if self.rule == "none":
            return ""
        if self.rule == "prefer":
            return (
                f"speaks {lang}, the conversation's language"
                if speaks
                else f"nobody free speaks {lang}; translation is on"
            )
        if self.rule == "require":
            return f"speaks {lang}: required while translation is unavailable"
        if speaks:
            return f"speaks {lang}"
        return (
            f"nobody free speaks {lang} and translation is unavailable, but the customer "
            f"has waited over {self.wait} s: anyone may take it"
        )

    def data(self, *, speaks: bool | None) -> dict:
        return {"rule": self.rule, "language": self.language, "speaks": speaks,
                "translation": self.translation or None, "wait": self.wait}  # fmt: skip


def rule_for(
    *, language: str, settled: bool, enqueued_at: dt.datetime, now: dt.datetime
) -> LanguageRule:
    wait = language_wait()
    lang = base_language(language) if settled else ""
    if not lang:
        return LanguageRule("none", "", "", wait)
    works, why = translation_ok()
    if works:
        return LanguageRule("prefer", lang, "", wait)
    if now < enqueued_at + dt.timedelta(seconds=wait):
        return LanguageRule("require", lang, why, wait)
    return LanguageRule("relaxed", lang, why, wait)
