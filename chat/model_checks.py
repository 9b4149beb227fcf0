"""Checks a model's clean() makes of values an admin form can put anywhere (the admin takes
any JSON in a JSONField): a list of words stays a list of words."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

WORD_MAX = 64
WORDS_MAX = 100


def word_list(value: Any, field: str) -> list[str]:
    """A list of at most 100 non-empty words of at most 64 characters ("billing", "fr")."""
    if (
        not isinstance(value, list)
        or len(value) > WORDS_MAX
        or not all(isinstance(v, str) and 0 < len(v.strip()) <= WORD_MAX for v in value)
    ):
        raise ValidationError({field: 'A list of words, such as ["billing", "vip"].'})
    return value


def origin_list(value: Any, field: str) -> list[str]:
    """Origins as a browser sends them: http(s)://host[:port], no path. "shop.example.com"
    (no scheme) never matched any request, so the widget refused every page of the site
    while admin had said nothing (a walkthrough)."""
    message = (
        'A list of origins such as ["https://shop.example.com", "http://localhost:8080"]: '
        "a scheme, a host, an optional port, no path."
    )
    if not isinstance(value, list) or len(value) > WORDS_MAX:
        raise ValidationError({field: message})
    for origin in value:
        parts = urlsplit(origin) if isinstance(origin, str) else None
        try:
            port_ok = parts is not None and (parts.port is None or 0 < parts.port < 65536)
        except ValueError:
            port_ok = False
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or not port_ok
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
            or parts.password
        ):
            raise ValidationError({field: f"{origin!r} is not an origin. {message}"})
    return value


def at_most(value: int | None, ceiling: int, field: str, setting: str) -> None:
    if value is not None and value > ceiling:
        raise ValidationError({field: f"At most {ceiling:,} ({setting})."})
