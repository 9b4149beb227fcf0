"""Which languages' rules apply to a message: decided from its own words (a function-word
vote), the given language (locale or detection) deciding only when they say nothing or
agree; every stem hit, at a word's start or inside it, answers to that choice; and a send
is never blocked for words innocent in a language the text plausibly is in."""

from __future__ import annotations

import pytest

from chat.exceptions import ValidationError
from chat.models import BlockedMessage, Message, ModerationPolicy
from chat.pipeline.moderation import moderate
from chat.pipeline.moderation_context import message_languages, votes
from tests.pipeline.helpers import make_chat

ALL = ("en", "fr", "it", "es", "de")


def masked(text: str, language: str = "") -> str:
    return moderate(text, language=language, languages=ALL).text


# --- the vote ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "guess", "deciding"),
    [
        ("Ich habe keine Ahnung", "en", {"de"}),  # German words overrule an English locale
        ("qu'est-ce qu'il veut", "de", {"fr"}),  # French elisions
        ("I don't know", "fr", {"en"}),  # English contractions
        ("Zürich", "it", {"it"}),  # nothing to vote on: the guess stands
        ("the Kaffee", "en", {"en"}),  # the guess agrees with the vote
        ("", "", set()),
    ],
)
def test_the_texts_function_words_decide_the_language(text, guess, deciding):
    assert message_languages(text, guess, known=ALL).deciding == deciding


def test_listed_words_never_vote():
    # "con" is Spanish and Italian for "with", but as the word found it says nothing.
    assert votes("con", skip=[(0, 3)]) == {}
    assert message_languages("los perros", "").plausible == frozenset({"es"})


# --- innocent words under a wrong locale -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Danke, bitte schön", "fr"),  # German "bitte" from a sender with a French locale
        ("ach bitte", "en"),
        ("mein Koffer ist zu dick", "en"),  # German "dick" is thick
        ("vorrei un caffè con panna", "fr"),  # Italian "con" is with
    ],
)
def test_a_word_innocent_in_the_texts_language_survives_a_wrong_locale(text, locale):
    assert masked(text, locale) == text


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("mais quel con celui-là", "en"),  # French "con" from a sender with an English locale
        ("tu n'es qu'un con", "es"),
        ("sa bite", "en"),
    ],
)
def test_an_insult_of_the_texts_language_is_caught_under_a_wrong_locale(text, locale):
    assert masked(text, locale) != text


# --- stems answer to the message's language, wherever they are in the word ------------------
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The spasticity clinic opens at nine", "en"),  # German "spast" at a word's start
        ("Die Badezimmerdecke ist nass", "de"),  # French "merd" inside a German word
        ("Hureau était là hier", "fr"),  # German "hure" at the start of a French name
    ],
)
def test_another_languages_stem_does_not_count(text, language):
    assert masked(text, language) == text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("du Spast", "de"),
        ("du bist so ein Hurenbock", "de"),
        ("das ist abgefuckt", "de"),  # English stems are borrowed everywhere
        ("Nuttenpreise!", ""),  # no language known: every stem counts
    ],
)
def test_a_stem_of_the_messages_language_still_counts(text, language):
    assert masked(text, language) != text


# --- blocking at send time ----------------------------------------------------------------------
@pytest.mark.django_db
def test_a_word_innocent_in_a_plausible_language_is_never_blocked(on_commit):
    # An English locale, a text that could be French or German ("grosse"): "bite" is masked
    # (French) but innocent in English, the locale's language, so the send is not refused:
    # it goes out masked and flagged for a supervisor.
    chat = make_chat(locale="en", moderation_policy=ModerationPolicy.BLOCK)
    with on_commit(execute=True):
        message = chat.customer_says("grosse bite", "c1")
    assert message.moderation == Message.Moderation.FLAGGED
    assert message.body_moderated == "grosse b***"
    assert [flag.get("doubtful") for flag in message.moderation_flags] == [True]
    assert not BlockedMessage.objects.filter(conversation=chat.conversation).exists()


@pytest.mark.django_db
def test_an_unambiguous_insult_is_still_blocked(on_commit):
    chat = make_chat(locale="en", moderation_policy=ModerationPolicy.BLOCK)
    with pytest.raises(ValidationError) as caught, on_commit(execute=True):
        chat.customer_says("you absolute wanker", "c1")
    assert caught.value.code == "message_blocked"


@pytest.mark.django_db
def test_a_german_sender_with_an_english_locale_is_not_blocked_for_please(on_commit):
    chat = make_chat(locale="en", moderation_policy=ModerationPolicy.BLOCK)
    with on_commit(execute=True):
        message = chat.customer_says("Können Sie mir bitte helfen?", "c1")
    assert message.moderation == Message.Moderation.CLEAN


# --- Portuguese -----------------------------------------------------------------------------------
PT = (*ALL, "pt")


@pytest.mark.parametrize(
    "text",
    ["isso é uma porra", "seu otário", "vai se foder", "caralhos, nada funciona", "que babaca"],
)
def test_portuguese_insults_are_caught_when_portuguese_is_configured(text):
    assert moderate(text, language="pt", languages=PT).text != text
    # ...even when the message was read as Spanish (no Portuguese in the detector)
    assert moderate(text, language="es", languages=PT).text != text


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("obrigado pela ajuda, até amanhã", "pt"),
        ("quiero una porra de chocolate", "es"),  # Spanish "porra": a baton, a pastry
        ("il corno da caccia", "it"),  # Italian "corno": a horn
    ],
)
def test_portuguese_words_innocent_elsewhere_are_left_alone(text, language):
    assert moderate(text, language=language, languages=PT).text == text
