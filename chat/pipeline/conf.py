"""Read the pipeline's settings (``settings.PARLEY_PIPELINE``, filled from the environment
in config/settings.py) in one place, so tests can override them with the settings
fixture."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "ENABLED": True,
    "LANGUAGES": ["en", "fr", "it", "es", "de"],
    "DETECTION_THRESHOLD": 0.5,
    "DETECTION_MIN_LENGTH": 0,
    "DETECTION_SHORT_LENGTH": 12,
    "DETECTION_SHORT_THRESHOLD": 0.8,
    "LANGUAGE_SETTLE_COUNT": 2,
    "TRANSLATION_ENGINE": "auto",
    "TRANSLATION_TIMEOUT": 10.0,
    "TRANSLATION_MAX_ATTEMPTS": 8,
    "LIBRETRANSLATE_URL": "",
    "LIBRETRANSLATE_API_KEY": "",
    "DEEPL_API_KEY": "",
    "DEEPL_API_URL": "",
    "STALE_AFTER": 30,
    "CATCH_UP_MESSAGES": 50,
}


def cfg(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "PARLEY_PIPELINE", {})}[name]


def enabled() -> bool:
    return bool(cfg("ENABLED"))


def languages() -> tuple[str, ...]:
    return tuple(dict.fromkeys(code.strip().lower() for code in cfg("LANGUAGES") if code.strip()))
