"""Detection on what says little: single words and a few letters (a stricter confidence,
and never against the sender's locale), and what is not prose at all (links, e-mail
addresses, order codes, acronyms), which lingua should not read."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chat.pipeline.detection import _trusted, detect, scrub


def _values(*pairs):
    return [
        SimpleNamespace(language=SimpleNamespace(iso_code_639_1=SimpleNamespace(name=c)), value=v)
        for c, v in pairs
    ]


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("ciao", "de"),  # a greeting from a German customer says nothing of the language
        ("merci", "en"),
        ("nope", "fr"),
        ("ok", ""),
        ("prego!", "es"),
    ],
)
def test_a_single_word_below_the_short_threshold_does_not_overrule_the_locale(text, locale):
    found = detect(text, fallback=locale)
    assert found.source != "detected" or found.language == locale


def test_a_short_text_needs_the_stricter_confidence_against_the_locale():
    # 0.7 passes the ordinary threshold but not the short-text one: a locale stands.
    assert not _trusted("hallo", 5, _values(("DE", 0.7), ("EN", 0.2)), 0.5, "fr")
    assert _trusted("hallo", 5, _values(("DE", 0.95), ("EN", 0.02)), 0.5, "fr")
    # With no locale, or agreeing with it, the ordinary threshold.
    assert _trusted("hallo", 5, _values(("DE", 0.7), ("EN", 0.2)), 0.5, "")
    assert _trusted("hallo", 5, _values(("DE", 0.7), ("EN", 0.2)), 0.5, "de")
    assert not _trusted("hallo", 5, _values(("DE", 0.45), ("EN", 0.4)), 0.5, "")


def test_a_narrow_lead_against_the_locale_needs_the_function_words_to_agree():
    german = "Das neue Update für mein Smartphone ist da"
    english = "Could you check the status of my refund please"
    lead = _values(("EN", 0.40), ("DE", 0.35))
    assert not _trusted(german, 35, lead, 0.5, "de")  # loanwords tipped lingua: keep de
    assert _trusted(english, 40, lead, 0.5, "de")  # its own words are English
    assert _trusted(german, 35, lead, 0.5, "")  # no locale: the lead rule as before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bestellung ABX-4471-QZ bitte prüfen", "Bestellung bitte prüfen"),
        ("voir https://boutique.example.fr/c/9921 svp", "voir svp"),
        ("écrivez à jean.dupont@example.org merci", "écrivez à merci"),
        ("I ordered the XL size from DHL", "I ordered the size from"),
        ("ticket #4821 for @support", "ticket for"),
        ("shop.example.com/o/8812", ""),
        ("TUTTO MAIUSCOLO", "TUTTO MAIUSCOLO"),  # shouting is prose: only acronyms go
    ],
)
def test_links_addresses_and_codes_are_not_prose(text, expected):
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("RMA-20931-DE", "it"),
        ("https://www.example.com/track/ZX81", "fr"),
        ("kundendienst@example.de", "es"),
        ("4471-B / 8812-A", "en"),
    ],
)
def test_a_message_of_codes_alone_keeps_the_locale(text, locale):
    found = detect(text, fallback=locale)
    assert (found.language, found.source) == (locale, "fallback")


def test_codes_do_not_sway_a_sentence():
    found = detect("Où en est ma commande SKU-7781-XQ ? Merci", fallback="en")
    assert (found.language, found.source) == ("fr", "detected")
