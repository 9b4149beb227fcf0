"""Is translation working, and if not, why: what the hello frame and the console show,
and what routing asks before it lets an agent who does not speak the customer's language
take the conversation.

Two sources. The configuration says whether the engine can run at all (argostranslate
not installed, no LibreTranslate URL: ``engines.engine_problem``). The last real attempt
says whether it answers: the worker records each batch's outcome in the shared cache
(Redis), so every server process sees the same health without calling the engine per
socket. A failure older than ``HEALTH_TTL`` is forgotten (the next attempt tells again).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import cache

from chat.pipeline import engines

logger = logging.getLogger(__name__)

HEALTH_TTL = 600  # seconds a recorded failure counts


def _key(name: str) -> str:
    return f"translation-health:{name}"


def health_record(*, engine: str, error: str | None) -> None:
    """The outcome of a real call to ``engine``: ``error`` None for a success."""
    try:
        if error is None:
            cache.delete(_key(engine))
        else:
            cache.set(_key(engine), {"error": error[:300], "at": time.time()}, HEALTH_TTL)
    except Exception:  # the cache is a hint: never fail a translation for it
        logger.warning("could not record the translation engine's health", exc_info=True)


def _recent_failure(engine: str) -> dict[str, Any] | None:
    try:
        return cache.get(_key(engine))
    except Exception:
        logger.warning("could not read the translation engine's health", exc_info=True)
        return None


def translation_status() -> dict[str, Any]:
    """What clients are told (hello): ``enabled`` (messages are translated: an engine is
    in effect), ``engine`` (the configured one, or null), ``state`` ("ready", "unavailable"
    or "off") and ``reason`` (why it is not ready; null when it is)."""
    name = engines.configured_engine()
    if name == "off":
        return {
            "enabled": False,
            "engine": None,
            "state": "off",
            "reason": "no translation engine is configured (TRANSLATION_ENGINE)",
        }
    problem = engines.engine_problem(name)
    if problem:
        return {"enabled": False, "engine": name, "state": "unavailable", "reason": problem}
    failure = _recent_failure(name)
    if failure:
        ago = max(0, int(time.time() - float(failure.get("at", 0))))
        return {
            "enabled": True,
            "engine": name,
            "state": "unavailable",
            "reason": f"the last attempt failed {ago} s ago: {failure.get('error', '')}",
        }
    return {"enabled": True, "engine": name, "state": "ready", "reason": None}


def translation_working() -> bool:
    """An engine in effect whose last attempt did not fail."""
    return translation_status()["state"] == "ready"
