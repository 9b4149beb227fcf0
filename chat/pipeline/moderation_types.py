"""The results of moderation (chat/pipeline/moderation.py): list entries, matches, the
verdict, and the masking of a text."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    term: str  # folded form, words separated by one space
    words: tuple[tuple[str, tuple[int, ...]], ...]  # run-length form of each word
    languages: frozenset[str]


@dataclass(frozen=True)
class Match:
    start: int  # character offsets in the original text
    end: int
    term: str
    languages: tuple[str, ...]
    first_token: int = -1  # token indices (-1 for an emoji entry matched as a substring)
    last_token: int = -1
    inside: bool = False  # a compound stem found inside a word, not at its start
    stem: bool = False  # found by a stem, not as a listed word
    # Masked, but innocent in a language the text plausibly is in: not a reason to block.
    doubtful: bool = False

    def as_flag(self, text: str) -> dict:
        flag = {
            "term": self.term,
            "languages": list(self.languages),
            "start": self.start,
            "end": self.end,
            "text": text[self.start : self.end],
        }
        if self.doubtful:
            flag["doubtful"] = True
        return flag


@dataclass
class Verdict:
    text: str  # the masked text (equal to the input when nothing matched)
    matches: list[Match] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.matches

    @property
    def blockable(self) -> bool:
        """Whether a "block" policy may refuse the message: some match is not innocent in
        any language the text plausibly is in (else it is masked and flagged instead)."""
        return any(not m.doubtful for m in self.matches)


def _dedupe(matches: list[Match], language: str) -> list[Match]:
    """One match per stretch of text: the longest, and of those the message language's."""
    out: list[Match] = []
    ordered = sorted(
        matches, key=lambda m: (m.start, -(m.end - m.start), language not in m.languages)
    )
    for m in ordered:
        if any(o.start <= m.start and m.end <= o.end for o in out):
            continue  # inside a longer match ('puta' in 'p u t a i n')
        out.append(m)
    return out


def mask(text: str, matches: list[Match]) -> str:
    """Keep the first visible character of each match, star the others: 'merde' → 'm****'.
    Spaces stay, so 'f u c k' → 'f * * *' and phrases keep their shape."""
    chars = list(text)
    for m in matches:
        first = m.first_token >= 0  # an emoji entry is starred whole
        for k in range(m.start, m.end):
            if chars[k].isspace():
                continue
            if first:
                first = False
                continue
            chars[k] = "*"
    return "".join(chars)
