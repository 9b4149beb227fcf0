"""Checks of values that arrive from clients, shared by every service that takes them."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.conf import settings

from chat.exceptions import ValidationError
from chat.model_checks import LOCALE_RE

CLIENT_MSG_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


# Characters that draw nothing, beside whitespace: Unicode's format characters (category
# Cf: zero-width space, word joiner, BOM, joiners, direction marks) and the Hangul fillers.
# A body of only these was accepted and shown as an empty bubble. Inside real text they
# stay (a ZWJ emoji sequence, ZWNJ in Persian): only a body of nothing else is empty.
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")


def _invisible(char: str) -> bool:
    return char.isspace() or char in _FILLERS or unicodedata.category(char) == "Cf"


def clean_body(body: Any) -> str:
    if body is None:
        raise ValidationError(
            "body is required (it may be left out only with attachments).",
            code="invalid_field",
            field="body",
        )
    if not isinstance(body, str):
        raise ValidationError("body must be a string.", code="invalid_field", field="body")
    body = body.strip()
    if not body or all(_invisible(c) for c in body):
        raise ValidationError("body must not be empty.", code="invalid_field", field="body")
    limit = settings.PARLEY["MESSAGE_MAX_CHARS"]
    if len(body) > limit:
        raise ValidationError(
            f"body is longer than {limit} characters.", code="too_large", field="body"
        )
    return body


URL_MAX = 2000


def clean_visit(*, page_url: Any = None, referrer: Any = None, user_agent: Any = None) -> dict:
    """Where a customer started a conversation (the console's context panel). An http(s)
    URL of at most 2,000 characters or nothing; the user agent (from the request, not the
    client) is cut to 500."""
    visit: dict[str, str] = {}
    for field, value in (("page_url", page_url), ("referrer", referrer)):
        if value in (None, ""):
            continue
        if (
            not isinstance(value, str)
            or len(value) > URL_MAX
            or not re.fullmatch(r"https?://[^\s]+", value)
        ):
            raise ValidationError(
                f"{field} must be an http(s) URL of at most {URL_MAX} characters.",
                field=field,
            )
        visit[field] = value
    if isinstance(user_agent, str) and user_agent:
        visit["user_agent"] = user_agent[:500]
    return visit


def clean_client_msg_id(value: Any, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not CLIENT_MSG_ID_RE.fullmatch(value):
        raise ValidationError(
            "client_msg_id must be 1-64 characters of A-Z a-z 0-9 _ . : -",
            code="invalid_field",
            field="client_msg_id",
        )
    return value


def clean_choice(value: Any) -> str | None:
    """A bot button id sent with a customer's click (optional)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise ValidationError(
            "choice must be a button id of 1-64 characters.", code="invalid_field", field="choice"
        )
    return value


def clean_locale(value: Any, *, field: str = "locale") -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not LOCALE_RE.fullmatch(value):
        raise ValidationError(
            f"{field} must be a language tag like 'en', 'fr-CA' or 'zh-Hant-TW'.", field=field
        )
    return value.replace("_", "-").lower()


SUBJECT_MAX = 200


def clean_subject(value: Any) -> str:
    """A conversation's subject: text of at most 200 characters, or nothing."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > SUBJECT_MAX:
        raise ValidationError(
            f"subject must be text of at most {SUBJECT_MAX} characters.", field="subject"
        )
    return value.strip()
