"""Multilingual profanity filtering: normalisation, masking, and the false-positive guards
(whole-word matching, the curated exclusions, words innocent in another language)."""

from __future__ import annotations

import pytest

from chat.pipeline.moderation import fold, lexicon, mask, moderate, runs
from chat.pipeline.moderation_lists import DATA_DIR

ALL = ("en", "fr", "it", "es", "de")


def masked(text: str, language: str = "") -> str:
    return moderate(text, language=language, languages=ALL).text


def flagged(text: str, language: str = "") -> list[str]:
    return [m.term for m in moderate(text, language=language, languages=ALL).matches]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        # English
        ("this is shit", "en", "this is s***"),
        ("what a fucking mess", "en", "what a f****** mess"),
        ("you bastard", "en", "you b******"),
        # French
        ("t'es un con", "fr", "t'es un c**"),
        ("espèce de connard !", "fr", "espèce de c****** !"),
        ("fils de pute", "fr", "f*** ** ****"),
        ("Putain, encore en retard", "fr", "P*****, encore en retard"),
        # Italian
        ("che cazzo fai", "it", "che c**** fai"),
        ("sei uno stronzo", "it", "sei uno s******"),
        ("vaffanculo", "it", "v*********"),
        # Spanish
        ("eres un gilipollas", "es", "eres un g*********"),
        ("hijo de puta", "es", "h*** ** ****"),
        ("joder, qué lento", "es", "j****, qué lento"),
        # German
        ("du Arschloch", "de", "du A********"),
        ("so eine Scheiße", "de", "so eine S******"),
        ("blöde Schlampe", "de", "blöde S*******"),
    ],
)
def test_profanity_is_masked_in_five_languages(text, language, expected):
    assert masked(text, language) == expected


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("sh1t", "shit"),  # leetspeak digits
        ("5h!t", "shit"),
        ("$hit", "shit"),
        ("@ss", "ass"),
        ("b!tch", "bitch"),
        ("3ncul3", "encule"),
        ("f u c k", "fuck"),  # spacing
        ("f.u.c.k", "fuck"),
        ("c o n", "con"),
        ("m-e-r-d-e", "merde"),
        ("coooon", "con"),  # repeated letters
        ("fuuuuuck", "fuck"),
        ("merdeeeee", "merde"),
        ("enculé", "encule"),  # diacritics, either way round
        ("encule", "encule"),
        ("ENCULÉ", "encule"),
        ("scheiße", "scheisse"),
        ("SCHEISSE", "scheisse"),
        ("f*ck", "fuck"),  # self-censored, still the word
        ("FUCKING", "fucking"),
        ("motherfuckingcompany", "motherf"),  # the few compound stems
    ],
)
def test_normalisation_catches_disguised_words(text, term):
    terms = flagged(text)
    assert term in terms or (term == "con" and "coon" in terms), terms
    assert masked(text) != text


@pytest.mark.parametrize(
    "text",
    [
        # Scunthorpe: a bad word inside an innocent one
        "I live in Scunthorpe",
        "my assistant will call you",
        "a classic model",
        "Mr Cockburn ordered it",
        "the analysis is attached",
        "my therapist said so",
        "je vous contacte pour un conseil",
        "merci pour votre contact, je suis confiant",
        "the passage was assessed by the class",
        "Dickens is my favourite author",
        "I hope the shiitake mushrooms arrive",
        "Cocktail glasses",
        "Sussex and Essex",
        "a grape and a scrape",
        "Penistone is a town",
        "les concombres et les cultures",
        "la conferenza e il conto",
        "el consejo y el concierto",
        "die Konferenz ist morgen",
        # repeated-letter rule does not collapse real doubles into bad words
        "as you wish",
        "the pros and cons",  # an allowed phrase, whatever the language
        # set phrases
        "a cul-de-sac in town",
        "she graduated magna cum laude",
        # excluded upstream entries that are ordinary words in a support chat
        "I need an escort for the delivery van",
        "il pesce è fresco",
        "un martillo nuevo",
        "la sega circolare è rotta",
        "il faut régler la pédale",
        "nackt ausgeliefert? nein, verpackt",
        # numbers are never words
        "order 5318008",
    ],
)
def test_innocent_text_is_left_alone(text):
    assert masked(text) == text, flagged(text)


@pytest.mark.parametrize(
    ("text", "language", "word"),
    [
        ("café con leche", "es", "con"),  # French 'con' is Spanish/Italian for 'with'
        ("pizza con funghi", "it", "con"),
        ("Bitte helfen Sie mir", "de", "bitte"),  # French 'bitte' is German for 'please'
        ("das Buch ist sehr dick", "de", "dick"),  # German 'dick' is 'thick'
        ("a con artist", "en", "con"),
        ("un coche negro", "es", "negro"),
    ],
)
def test_words_innocent_in_the_message_language_are_allowed(text, language, word):
    assert masked(text, language) == text
    # ...and are still caught in a language where they are not, when nothing in the text
    # says otherwise (a text's own function words overrule the given language: see
    # test_language_evidence.py)
    assert masked(f"{word}!", "fr") != f"{word}!"


def test_the_first_letter_is_kept_and_spaces_survive():
    assert masked("putain de merde") == "p***** de m****"
    assert masked("f u c k you") == "f * * * you"
    assert masked("🖕 you") == "* you"


def test_each_match_says_what_and_where():
    verdict = moderate("Bonjour connard, ça va ?", language="fr", languages=ALL)
    [match] = verdict.matches
    assert (match.term, match.languages) == ("connard", ("fr",))
    flag = match.as_flag("Bonjour connard, ça va ?")
    assert flag["text"] == "connard" and (flag["start"], flag["end"]) == (8, 15)


def test_only_the_configured_languages_lists_apply():
    assert moderate("che cazzo", languages=("en", "fr")).text == "che cazzo"
    assert moderate("che cazzo", languages=("it",)).text == "che c****"


def test_helpers():
    assert fold("Enculé Scheiße ŒUF") == "encule scheisse oeuf"
    assert runs("coooon") == ("con", (1, 4, 1))
    assert mask("abc", []) == "abc"


def test_the_lexicon_is_built_from_the_shipped_lists_with_their_licence():
    assert (DATA_DIR / "LICENSE-LDNOOBW").read_text().startswith("Attribution 4.0 International")
    lx = lexicon(ALL)
    assert len(lx.single) > 500
    for lang in ALL:
        assert (DATA_DIR / f"ldnoobw-{lang}.json").exists()


def test_the_lookup_memos_stay_bounded_when_no_token_repeats():
    """Order numbers, names and addresses never repeat: the memos hold at most MEMO_SIZE
    entries each however many such messages pass, and a word found before the memo
    emptied is still found after."""
    from chat.pipeline.moderation import MEMO_SIZE
    from chat.pipeline.moderation_text import variants

    lx = lexicon(("en",))
    for i in range(MEMO_SIZE + 500):
        lx.moderate(f"order x{i}q{i * 7}z reference k{i}w", language="en")
    assert len(lx._memo) <= MEMO_SIZE and len(lx._stem_memo) <= MEMO_SIZE
    assert runs.cache_info().currsize <= MEMO_SIZE
    assert variants.cache_info().currsize <= MEMO_SIZE
    assert lx.moderate("what the fuck", language="en").matches


# Found by a blind held-out set (2026-12-06, docs/benchmarks.md "Moderation: a blind
# held-out set"): each case stands for a class of messages, not for itself.
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("bande de cons", "fr"),  # regular plurals of listed single words
        ("ces salauds m'ont arnaqué", "fr"),
        ("sois unos idiotas", "es"),
        ("bastardos", "es"),
        ("quelle troie", "it"),
        ("zoccole", "it"),
        ("diese Vollidioten", "de"),
        ("jackasses", "en"),
        ("f\u200buck this", "en"),  # an invisible character inside a word
        ("sh\u00adit app", "en"),
        ("fu\u0441k this", "en"),  # a Cyrillic look-alike among Latin letters
        ("m***e alors", "fr"),  # more stars, first and last letters shown
        ("f***ing app", "en"),
        ("me cago en la leche", "es"),
        ("what a moron", "en"),  # insults a support chat masks in every language
        ("quel crétin", "fr"),
        ("du Trottel", "de"),
    ],
)
def test_plurals_hidden_characters_and_insults_are_caught(text, language):
    assert masked(text, language) != text, text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Quiero una cazuela de barro", "es"),  # a stem's doubled letters must be there
        ("Vivo en Alcázar de San Juan", "es"),
        ("Los clientes disputan la factura", "es"),
        ("I built my store on Wix", "en"),
        ("Das Schisma in der Kirche", "de"),
        ("Die Badezimmerdecke ist nass", "de"),  # French "merd" inside a German word
        ("una mesa de madera maciza", "es"),
        ("the putative father", "en"),
        ("le père putatif", "fr"),
        ("Is Moby Dick available as an audiobook?", "en"),
        ("ho preso un cavallo di Troia sul PC", "it"),
        ("je suis con\u00adtent", "fr"),  # a soft hyphen does not split a word
        ("The Yamashita order hasn't shipped", "en"),
        ("les pros and cons", "fr"),
        ("un cavallo, due cavalli", "it"),
    ],
)
def test_the_new_rules_leave_innocent_words_alone(text, language):
    assert masked(text, language) == text, flagged(text)


def test_a_plural_is_innocent_where_its_singular_is():
    assert masked("the pros and cons of each plan", "en") == "the pros and cons of each plan"
    assert masked("bande de cons", "fr") != "bande de cons"
