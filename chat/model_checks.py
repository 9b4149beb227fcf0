"""Checks a model's clean() makes of values an admin form can put anywhere (the admin takes
any JSON in a JSONField): a list of words stays a list of words."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

WORD_MAX = 64
WORDS_MAX = 100

# A BCP 47 language tag as browsers send them: a language, an optional script ("Hant"),
# an optional region or variant ("TW", "419", "fr-CA"), at most 16 characters. Here, not
# in chat.services.validation (which uses it for clients' locales), so that models and
# admin forms check languages the same way without importing the services.
LOCALE_RE = re.compile(r"^(?=.{2,16}$)[A-Za-z]{2,3}([-_][A-Za-z]{4})?([-_][A-Za-z0-9]{2,8})?$")

# A site's key goes into URLs (/demo/<key>/, /status/<key>/, reversed by name: a "/" or a
# space made /demo/ answer 500) and into every embedding page's data-site attribute. The
# generated keys (secrets.token_urlsafe) are of these characters.
SITE_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
validate_site_key = RegexValidator(
    SITE_KEY_RE, "A site key is 1-64 letters, digits, - or _ (it goes into URLs and script tags)."
)


def language_tag(value: Any, field: str) -> str:
    """One language tag ("fr", "pt-BR"), normalised as clean_locale does ("pt-br")."""
    if not isinstance(value, str) or not LOCALE_RE.fullmatch(value.strip()):
        raise ValidationError(
            {field: f"{value!r} is not a language tag like 'en', 'fr-CA' or 'zh-Hant-TW'."}
        )
    return value.strip().replace("_", "-").lower()


def language_tags(value: Any, field: str) -> list[str]:
    """A list of language tags, normalised, without duplicates."""
    word_list(value, field)
    return list(dict.fromkeys(language_tag(v, field) for v in value))


def seconds_after(moment: dt.datetime, seconds: float) -> dt.datetime:
    """``moment`` plus ``seconds``, clamped to the latest datetime Python holds: a
    configured delay out of any sensible range (a stored SLA of 999,999,999,999 s) must
    make a far deadline, not an OverflowError in the middle of a handoff."""
    latest = dt.datetime.max.replace(tzinfo=moment.tzinfo) - dt.timedelta(days=2)
    try:
        return min(moment + dt.timedelta(seconds=seconds), latest)
    except OverflowError:
        return latest


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
