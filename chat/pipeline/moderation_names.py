"""Item 9 of chat/pipeline/moderation.py: whether a listed word is written as a place's or
a person's name ("pass this to Dick in accounting", "Cumming, Georgia", "Signor Cazzola")
and so left alone. A mixin of ``Lexicon``, which holds the lists it reads
(``proper_names``, ``not_a_name_after``, ``name_introducers``, ``place_prepositions``)
and the matching it calls back (``_token_entries``, ``_stem_hit``)."""

from __future__ import annotations

from chat.pipeline.moderation_context import MessageLanguages, named_place_or_person, votes
from chat.pipeline.moderation_text import Token, name_cased, starts_sentence
from chat.pipeline.moderation_types import Match


class NameReading:
    def _a_name(self, text: str, tokens: list[Token], m: Match, langs: MessageLanguages) -> bool:
        """A listed word written as a name inside a sentence: one known as a name ("pass
        this to Dick in accounting", "we ship to Troia"), or any that reads as a place or a
        person: after a title or a place preposition ("Signor Cazzola", "near Cockburn"),
        after a first name, or before ", Region". At a sentence's start, or after an article
        or "you" ("what a Dick"), it is masked unless ", Region" follows."""
        if m.first_token < 0 or m.first_token != m.last_token:
            return False
        token = tokens[m.first_token]
        if not name_cased(text[token.start : token.end]):
            return False
        i = m.first_token
        before = tokens[i - 1] if i else None
        deciding = sorted(langs.deciding) or [""]
        after = frozenset().union(*(self.not_a_name_after.get(k, frozenset()) for k in deciding))
        if before is not None and after.intersection(before.variants[:1]):
            return False  # "what a Dick", "sei una Troia"
        opens = starts_sentence(
            text, before and before.end, token.start, bool(before and before.single)
        )
        # German writes every noun with a capital: there, only titles ("Herr", "Frau")
        # make a name of a capitalised word.
        nouns_capitalised = "de" in langs.deciding or not langs.deciding
        if opens:
            return not nouns_capitalised and self._region_after(text, tokens, i)
        if self.proper_names.intersection(token.variants[:1]):
            return True
        previous = before.variants[0] if before is not None else ""
        introducers = frozenset().union(
            *(self.name_introducers.get(k, frozenset()) for k in langs.deciding or ("de",))
        )
        if named_place_or_person(previous, introducers):
            return True
        if nouns_capitalised:
            return previous in self.place_prepositions and self._region_after(text, tokens, i)
        # "Johnny Depp", "Anna Cazzola": a surname after a first name; "Cumming, Georgia".
        return self._a_first_name(text, tokens, i - 1) or self._region_after(text, tokens, i)

    def _plain_name(self, text: str, token: Token) -> bool:
        """Name-cased, listed nowhere, and no function word of any language."""
        return (
            name_cased(text[token.start : token.end])
            and not self._token_entries(token)
            and not self._stem_hit(token)
            and not votes(token.variants[0])
        )

    def _region_after(self, text: str, tokens: list[Token], i: int) -> bool:
        if i + 1 >= len(tokens):
            return False
        following = tokens[i + 1]
        gap = text[tokens[i].end : following.start]
        return gap.strip() == "," and self._plain_name(text, following)

    def _a_first_name(self, text: str, tokens: list[Token], i: int) -> bool:
        """A plain name that does not open a sentence ("Johnny" in "Johnny Depp")."""
        if i < 0 or not self._plain_name(text, tokens[i]):
            return False
        token, before = tokens[i], tokens[i - 1] if i else None
        opens = starts_sentence(
            text, before and before.end, token.start, bool(before and before.single)
        )
        return not opens and not self.not_a_name_after[""].intersection(token.variants[:1])
