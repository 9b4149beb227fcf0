"""Checks a model's clean() makes of values an admin form can put anywhere (the admin takes
any JSON in a JSONField): a list of words stays a list of words."""

from __future__ import annotations

from typing import Any

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
