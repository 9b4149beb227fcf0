"""The ``matches`` condition under RE2 (chat.safe_regex): a pattern that backtracks
catastrophically under Python's ``re`` is matched in linear time, patterns RE2 cannot run
(backreferences, lookarounds) are a 400 naming the field, and ordinary patterns match as they
did under ``re``. No timings: the inputs are ones backtracking would never finish, so a
regression shows as the suite's timeout (pyproject.toml, pytest-timeout)."""

from __future__ import annotations

import datetime as dt
import re
import sys
import unicodedata

import pytest
from django.test import TestCase

from chat import safe_regex as rule_regex
from integrations import rules as rule_format
from integrations.models import Rule
from tests.api.conftest import key_client
from tests.integrations.test_rules_api import REFUND, client_for

pytestmark = pytest.mark.django_db

EVIL = r"(a+)+$"


def holds(pattern: str, text: str) -> bool:
    cond = {"field": "message.text", "op": "matches", "value": pattern}
    body = {"data": {"message": {"body": text}}}
    ctx = rule_format.Context(body=body, conversation=None, now=dt.datetime.now(dt.UTC))
    return rule_format.holds([cond], ctx)


def rule_body(pattern: str) -> dict:
    return {**REFUND, "conditions": [{"field": "message.text", "op": "matches", "value": pattern}]}


def test_a_catastrophic_pattern_is_accepted_and_matched_in_linear_time(site, start, send):
    api = client_for(site)
    made = api.post("/api/v1/rules/", rule_body(EVIL), format="json")
    assert made.status_code == 201, made.content
    # Python's re would need ~2**10000 steps for this; RE2 reads it once.
    assert holds(EVIL, "a" * 10_000 + "!") is False
    assert holds(EVIL, "a" * 10_000) is True
    # And through the real flow, with the probe's message (50 "a" then "!").
    conversation = start()
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "a" * 50 + "!")
    conversation.refresh_from_db()
    assert conversation.tags == []
    with TestCase.captureOnCommitCallbacks(execute=True):
        send(conversation, "a" * 50)
    conversation.refresh_from_db()
    assert conversation.tags == ["refund"]


@pytest.mark.parametrize(
    "pattern", [r"(a)\1", r"(?P<x>a)(?P=x)", r"refund(?=s)", r"(?<!no )refund", r"(?!x)y"]
)
def test_backreferences_and_lookarounds_are_400_naming_the_field(site, pattern):
    api = client_for(site)
    response = api.post("/api/v1/rules/", rule_body(pattern), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_field"
    assert error["field"] == "conditions[0].value"
    assert "conditions[0].value: not a regular expression RE2 accepts" in error["message"]
    assert not Rule.objects.exists()


def test_a_pattern_over_200_characters_is_still_refused():
    problems = rule_format.validate(
        event="message.created",
        conditions=[{"field": "message.text", "op": "matches", "value": "a" * 201}],
        actions=[{"type": "resolve"}],
    )
    assert problems == [
        "conditions[0].value: not a regular expression (not a string of at most 200 characters)."
    ]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"\border \d+", "About ORDER 1234", True),
        (r"\border \d+", "reorder 12", False),
        (r"rembourse(ment|z)", "Remboursez-moi", True),
        (r"^hello$", "HELLO", True),
        (r"^hello$", "well hello", False),
        (r"refund\Z", "a refund", True),
        (r"refund\Z", "refund please", False),
        (r"\d+", "commande ٣٤", True),  # Arabic-Indic digits: Unicode, as Python's \d
        (r"^\w+$", "café", True),  # as Python's \w, not RE2's ASCII one
        (r"^\W+$", "café", False),
        (r"a\sb", "a\u00a0b", True),  # no-break space: Unicode, as Python's \s
        (r"[\d-]+x", "١٢-x", True),
        (r"[^\d]", "١٢", False),
        (r"[]x]", "]", True),
        (r"[[:alpha:]]+", "abc", True),
        (r"\Q1.5\E", "1x5", False),
        (r"\Q1.5\E", "1.5", True),
        (r"(?s)a.b", "a\nb", True),
        (r"ÉTÉ", "été", True),  # case-insensitive beyond ASCII
    ],
)
def test_ordinary_patterns_match_as_before(pattern, text, expected):
    assert (
        rule_format.validate(
            event="message.created",
            conditions=[{"field": "message.text", "op": "matches", "value": pattern}],
            actions=[{"type": "resolve"}],
        )
        == []
    )
    assert holds(pattern, text) is expected
    if "\\Q" not in pattern and "[:" not in pattern:  # RE2-only syntax
        assert (re.search(pattern, text.casefold(), re.I) is not None) is expected


@pytest.mark.parametrize("letter", "dDwWsS")
def test_class_escapes_mean_what_they_mean_in_python(letter):
    """On every code point Python's Unicode database knows (newer ones only RE2 knows aside),
    casefolded as the evaluation does."""
    python = re.compile("\\" + letter, re.I)
    ours = rule_regex.compile("\\" + letter)
    texts = (
        chr(cp).casefold()
        for cp in range(sys.maxunicode + 1)
        if not 0xD800 <= cp <= 0xDFFF and unicodedata.category(chr(cp)) != "Cn"
    )
    differ = [t for t in texts if (python.fullmatch(t) is None) != (ours.fullmatch(t) is None)]
    assert differ == []


def test_a_stored_pattern_re2_refuses_never_holds():
    """A rule saved before RE2 with, say, a backreference: it does not match, nor raise."""
    assert holds(r"(a)\1", "aa") is False
    assert holds("(unclosed", "(unclosed") is False


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/rules/", "/api/v1/webhooks/"])
def test_an_unknown_site_in_the_body_is_a_400_naming_it(path):
    client, _ = key_client()
    response = client.post(path, {"site": 999_999, "name": "x"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == "site"
