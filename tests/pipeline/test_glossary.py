"""The glossary's placeholders: chosen per message so that nothing the customer wrote can be
taken for one, and terms that match only as written."""

from __future__ import annotations

from chat.pipeline.glossary import protect, restore


def _round_trip(text: str, terms: list[str], engine=lambda t: t) -> str:
    protected, kept = protect(text, terms)
    return restore(engine(protected), kept)


def test_text_that_looks_like_a_placeholder_survives():
    text = "Code ZQX0 ne marche pas sur Bricomax"
    protected, kept = protect(text, ["Bricomax"])
    assert "Bricomax" not in protected and "ZQX0" in protected  # the customer's own
    assert restore(protected, kept) == text
    assert _round_trip("zqx 1, QZX2 et Bricomax", ["Bricomax"]) == "zqx 1, QZX2 et Bricomax"


def test_every_placeholder_shape_taken_still_round_trips():
    text = " ".join(f"{p}0" for p in ("ZQX", "ZXQ", "QZX", "QXZ", "XZQ", "XQZ")) + " Acme"
    assert _round_trip(text, ["Acme"]) == text


def test_an_engine_that_spaces_or_lowers_the_placeholder_is_understood():
    protected, kept = protect("J'adore Bricomax", ["Bricomax"])
    spaced = protected.replace(kept.prefix, " ".join(kept.prefix.lower()))
    assert restore(spaced, kept) == "J'adore Bricomax"


def test_an_exact_term_matches_only_as_written():
    protected, kept = protect("Orange box, orange colour", ["=Orange"])
    assert kept == ["Orange"] and "orange colour" in protected
    # A plain term still matches any case.
    assert protect("orange colour", ["Orange"])[1] == ["orange"]
    # An empty exact term is ignored.
    assert protect("x", ["=", " = "]) == ("x", [])
