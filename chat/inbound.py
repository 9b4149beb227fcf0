"""What clients may send, checked where it comes in (socket frames, REST bodies), so that
bad input gets a clear error instead of failing deep inside: in the JSON parser (nesting
beyond Python's recursion limit), in PostgreSQL (NUL and unpaired surrogates cannot be
stored in text or jsonb) or in the channel layer (msgpack carries 64-bit integers only,
so a stored message with a bigger one could never be pushed).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.conf import settings

from chat.exceptions import ValidationError

# Signed 64 bits: what PostgreSQL's bigint holds (ids, seqs) and msgpack (the layer) carries.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def max_depth() -> int:
    return settings.PARLEY["JSON_MAX_DEPTH"]


def too_deep(limit: int) -> ValidationError:
    return ValidationError(f"JSON may nest at most {limit} levels.", code="too_deep")


def loads(text: str | bytes, **kwargs: Any) -> Any:
    """json.loads, with nesting past the recursion limit as `too_deep` (it raised a
    RecursionError: a 500, or a 1011 close on a socket) and the result checked."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise too_deep(max_depth()) from None
    check(value)
    return value


# Python refuses to read an integer of more than 4,300 digits (a ValueError, which would
# answer `bad_json` for valid JSON); anything that long stands in as a value past 64 bits,
# so `check` names the field like any other out-of-range integer.
_LONGEST_INT = 40


def parse_int(digits: str) -> int:
    return int(digits) if len(digits) <= _LONGEST_INT else INT_MAX + 1


def check(value: Any, limit: int | None = None) -> None:
    """Raise ValidationError for the first thing in ``value`` (parsed JSON) that Parley
    cannot store or push: nesting deeper than ``limit``, a string with NUL or an unpaired
    surrogate, an integer outside 64 bits, a float that is not finite. The error names the
    field by its path (``data.items.0.name``)."""
    limit = max_depth() if limit is None else limit
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict):
            if depth > limit:
                raise too_deep(limit)
            for key, child in item.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    raise _unstorable(_printable(name))
                stack.append((child, depth + 1, name))
        elif isinstance(item, list):
            if depth > limit:
                raise too_deep(limit)
            stack.extend(
                (child, depth + 1, f"{path}.{i}" if path else str(i))
                for i, child in enumerate(item)
            )
        elif isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise _unstorable(_printable(path))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                raise ValidationError(
                    f"{path or 'The value'} is out of range: integers are limited to 64 bits.",
                    code="invalid_field",
                    field=path or None,
                )
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValidationError(
                f"{path or 'The value'} must be a finite number.",
                code="invalid_field",
                field=path or None,
            )


def _printable(path: str) -> str:
    return _UNSTORABLE.sub("\ufffd", path)


def _unstorable(path: str) -> ValidationError:
    return ValidationError(
        f"{path or 'The text'} contains a character that cannot be stored (NUL or an "
        "unpaired surrogate).",
        code="invalid_field",
        field=path or None,
    )


def field_int(frame: dict, name: str, *, required: bool = True) -> int | None:
    value = frame.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            f"{name} must be a non-negative integer.", code="invalid_field", field=name
        )
    return value


def frame_id(text_data: str | None, max_bytes: int) -> str | int | None:
    """The id of a frame that is dropped unread (rate limited), so the client knows which
    one to send again; None when there is none to find cheaply."""
    if not text_data or len(text_data) > max_bytes:
        return None
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):
        return None
    ref = frame.get("id") if isinstance(frame, dict) else None
    return safe_ref(ref) if isinstance(ref, (str, int)) and not isinstance(ref, bool) else None


def safe_ref(ref: str | int | None) -> str | int | None:
    """A ref that can be echoed: an id that is itself unstorable or past 64 bits is not."""
    try:
        check(ref)
    except ValidationError:
        return None
    return ref
