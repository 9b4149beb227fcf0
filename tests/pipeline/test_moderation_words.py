"""What a listed word or stem is, in a word: the endings a stem may take (names and
ordinary words that only start like an insult pass), disguises at a token's edges, behind
stars and in look-alike letters of any script, ambiguous words and names of places and
people, and the insults added to the lists."""

from __future__ import annotations

import pytest

from chat.pipeline.moderation import moderate
from chat.pipeline.moderation_text import CONFUSABLES

ALL = ("en", "fr", "it", "es", "de")


def masked(text: str, language: str = "") -> str:
    return moderate(text, language=language, languages=ALL).text


# --- stems take their language's endings, not any tail -----------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Toshitaka will call you back", "en"),  # "shit" inside a Japanese name
        ("Hoshitani approved the refund", "en"),
        ("Mr Conneran called twice", "en"),  # French "conner" + a tail no French word has
        ("il conto Fottarelli è chiuso", "it"),  # Italian "fott" + "arelli": a surname
        ("una putativa solución", "es"),  # Spanish "puta" + "tiva"
        ("Salopek est notre livreur", "fr"),  # French "salop" + "ek"
    ],
)
def test_a_stem_followed_by_no_ending_of_its_language_is_not_a_hit(text, language):
    assert masked(text, language) == text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("shitty service", "en"),  # the stretched last letter belongs to the ending
        ("what a shitshow", "en"),  # English compound heads
        ("una cazzata", "it"),
        ("che stronzissima", "it"),  # derivation then inflection: two endings in a row
        ("vaya putada", "es"),
        ("quelle saloperie", "fr"),
        ("che rincoglionimento", "it"),  # a long stem is specific enough for any tail
        ("Drecksladen", "de"),  # German compounds: any tail
    ],
)
def test_a_stem_with_an_ending_of_its_language_is_still_a_hit(text, language):
    assert masked(text, language) != text


# --- disguises -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "what a cun+",  # "+" at a token's end is a "t" before it is punctuation
        "you |diot",  # "|" at its start is an "i"
        "total bullsh!+",
        "sh*tstorm",  # stars inside a stem of a longer word
        "megaf*cked",
        "so ein Sch*isskerl",
        "\u0251sshole",  # Latin alpha (UTS #39 confusable with "a")
        "bi\u0442\u0441h",  # Cyrillic te and es
        "f\U0001d42eck",  # mathematical bold u
    ],
)
def test_disguised_words_are_caught(text):
    assert masked(text, "en") != text


@pytest.mark.parametrize(
    "text",
    ["merci!!", "**bold** text", "Great!!! thanks", "5* hotel", "A+ service", "C++ code"],
)
def test_edge_symbols_that_are_punctuation_stay_punctuation(text):
    assert masked(text, "en") == text


def test_confusables_come_from_unicode_data_not_a_hand_list():
    # Characters of several scripts map to the Latin letter they look like...
    assert "\u0192".translate(CONFUSABLES) == "f"  # hooked f
    assert "\u0585".translate(CONFUSABLES) == "o"  # Armenian oh
    # ...but accented Latin letters are left to folding, and a word in another script
    # alone is left alone.
    assert "é".translate(CONFUSABLES) == "é"
    assert masked("\u0441\u0443\u043a\u0430", "en") == "\u0441\u0443\u043a\u0430"


# --- ambiguous words ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("a cock pheasant crossed the road", "en"),
        ("turn the brass knob to the left", "en"),
        ("ho visto un uccello sul tetto", "it"),
        ("la queue est longue au guichet", "fr"),
        ("der Schwanz des Hundes wedelt", "de"),
        ("los capullos del rosal ya se abren", "es"),
    ],
)
def test_an_ambiguous_word_in_its_innocent_sense_is_left_alone(text, language):
    assert masked(text, language) == text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("you prick", "en"),  # said to someone
        ("don't be such a prick", "en"),
        ("prick!", "en"),  # the whole message
        ("sei una zoccola", "it"),
        ("fuck off, prick", "en"),  # next to an unambiguous insult
        ("eres un capullo", "es"),
        ("suck my cock", "en"),
    ],
)
def test_an_ambiguous_word_used_as_an_insult_is_masked(text, language):
    assert masked(text, language) != text


# --- names of places and people -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Our depot is in Cockburn, Western Australia", "en"),
        ("please ask Mr Wankel about it", "en"),
        ("Spedite a Coglioni, provincia di Bari", "it"),  # ", Region"
        ("Signor Cazzola ha chiamato", "it"),  # after a title
        ("please ask Peter Wanker in sales", "en"),  # a surname after a first name
        ("Ich wohne in Fickendorf, Sachsen", "de"),  # German: a preposition and ", Region"
    ],
)
def test_a_listed_word_written_as_a_place_or_person_is_a_name(text, language):
    assert masked(text, language) == text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("what a Prick", "en"),  # after an article or "you": the insult
        ("Cazzo, non funziona", "it"),  # a sentence's first word, no region after it
        ("you TWAT", "en"),  # not written as a name
        ("Der Support ist ein Haufen Idioten", "de"),  # German capitalises every noun
        ("Das sind Idioten, Arschlöcher alle", "de"),
        ("ich war bei Idioten", "de"),
    ],
)
def test_a_name_shaped_insult_is_still_masked(text, language):
    assert masked(text, language) != text


# --- insults added to the lists -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("shut up you tosser", "en"),
        ("what a douchebag", "en"),
        ("quelle grognasse", "fr"),
        ("espèce de tocard", "fr"),
        ("sei uno sfigato", "it"),
        ("che rompipalle", "it"),
        ("eres un boludo", "es"),
        ("menudo tarado", "es"),
        ("du Vollpfosten", "de"),
        ("so ein Pisser", "de"),
    ],
)
def test_common_insults_missing_from_the_upstream_lists_are_caught(text, language):
    assert masked(text, language) != text
