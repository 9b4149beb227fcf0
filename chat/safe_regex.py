"""Patterns that integrators and flow authors write, run by RE2 (google-re2): linear in the
text's length whatever the pattern, so no automation rule (``matches``) and no bot flow (a
``matches`` condition, a ``regex`` answer check) can hold a worker by catastrophic
backtracking (``(a+)+$`` on "aaaa…!" took Python's ``re`` seconds per extra character).

RE2 has no backreferences nor lookarounds: such a pattern does not compile, and the rule is
refused when it is saved. Python's Unicode meanings of ``\\d``, ``\\w``, ``\\s`` (and their
negations) and ``\\Z`` are rewritten to RE2's equivalents, so the patterns rules took before
match the same texts; ``\\b`` stays RE2's (ASCII word characters)."""

from __future__ import annotations

import functools

import re2

error = re2.error

# Python's Unicode classes (str patterns), as RE2 writes them; checked against ``re`` over
# every code point by tests/integrations/test_rule_regex.py.
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\t-\r\x1c-\x1f\x85\p{Z}"
_OUTSIDE = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "Z": r"\z",
}
# Inside [...] a negated class cannot be spelled as a union: \W and \S keep RE2's meaning.
_INSIDE = {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": _WORD, "s": _SPACE}


def _options(ignore_case: bool) -> re2.Options:
    options = re2.Options()
    # Rules have always matched as re.I; flows' patterns, as written.
    options.case_sensitive = not ignore_case
    options.log_errors = False  # a refused pattern is the caller's 400, not a log line
    return options


def translate(pattern: str) -> str:
    """``pattern`` with Python's Unicode ``\\d \\w \\s \\D \\W \\S \\Z`` in RE2's words."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0  # where a ']' would be a literal (first in the class)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q" and not in_class:  # \Q...\E: literal text, copied as it is
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end + 2
                out.append(pattern[i:end])
                i = end
                continue
            table = _INSIDE if in_class else _OUTSIDE
            out.append(table.get(nxt, c + nxt))
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):  # [[:alpha:]]
                end = pattern.find(":]", i + 2)
                if end >= 0:
                    out.append(pattern[i : end + 2])
                    i = end + 2
                    continue
            if c == "]" and i != class_start:
                in_class = False
        elif c == "[":
            in_class = True
            class_start = i + 1
            if pattern.startswith("^", class_start):
                out.append("[^")
                i += 2
                class_start = i
                continue
        out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def compile(pattern: str, ignore_case: bool = False) -> re2._Regexp:  # as re.compile
    """The pattern compiled for RE2; raises ``error`` when RE2 cannot."""
    return re2.compile(translate(pattern), _options(ignore_case))


def search(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Whether ``pattern`` is found anywhere in ``text``, in linear time."""
    return compile(pattern, ignore_case).search(text) is not None


def fullmatch(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches the whole of ``text``, in linear time."""
    return compile(pattern).fullmatch(text) is not None
