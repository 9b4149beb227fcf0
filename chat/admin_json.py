"""The admin's editor for every JSONField: pretty JSON in a monospace box sized to it, and
JSON that PostgreSQL can store, of the shape the field holds, or an error on the form.

Django's admin field shows a value as one line of compact JSON (non-ASCII as ``\\u00e9``)
in a plain textarea, and accepts any JSON, leaving the rest to the database and the models:
``1e309`` (read as infinity, which PostgreSQL's jsonb refuses), a cleared field (None, into
a NOT NULL column) and NUL characters were all 500s (a black-box probe of the admin), and a
typo said "Enter a valid JSON" without saying where (a new user's walkthrough). Each is an
error on the form now, with the decoder's line and column. A shape (see JSONShapes) says
what the value is: a list, an object, a list of texts; finer checks (a word's length, an
origin's form) stay the models' ``clean``.

install() makes StoredJSONField the form field of every JSONField in every ModelAdmin
(chat's admin module is imported first of the project's); forms that declare a JSON field
of their own use the same class.
"""

from __future__ import annotations

import json
import math

from django import forms
from django.contrib.admin import options
from django.db import models
from django.utils.translation import gettext_lazy as _

from chat import inbound
from chat.exceptions import ValidationError as ParleyValidationError

MIN_ROWS, MAX_ROWS = 3, 40
MIN_COLS, MAX_COLS = 40, 110


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_("%(number)s is too large a number to store.") % {"number": text})
    return value


def _no_constant(name: str):
    raise ValueError(_("%(name)s is not JSON: write null or a number.") % {"name": name})


def _kind(value) -> str:
    if isinstance(value, bool):
        return _("true or false")
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return _("a number")
    if isinstance(value, str):
        return _("a text")
    return _("a list") if isinstance(value, list) else _("an object")


NOT_AN_OBJECT = _(
    'Enter an object in braces, such as {"key": "value"} ({} for none), not %(kind)s.'
)
NOT_TEXTS = _(
    'Enter a list of texts in quotes, such as ["billing", "vip"] ([] for none), not %(kind)s.'
)
NOT_A_LIST = _("Enter a list in square brackets ([] for none), not %(kind)s.")
NOT_A_TEXT = _('Item %(where)s is %(kind)s; every item must be a text in quotes, such as "vip".')


class Shape:
    """What a field's JSON is: a list or an object, and whether it is a list of texts."""

    def __init__(self, container: type, *, texts: bool = False):
        self.container = container
        self.texts = texts and container is list

    @property
    def empty(self) -> str:
        return "[]" if self.container is list else "{}"

    def check(self, value) -> None:
        if not isinstance(value, self.container):
            message = NOT_TEXTS if self.texts else NOT_A_LIST
            message = NOT_AN_OBJECT if self.container is dict else message
            raise forms.ValidationError(message, code="shape", params={"kind": _kind(value)})
        if not self.texts:
            return
        for where, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item.strip():
                kind = _("empty") if isinstance(item, str) else _kind(item)
                raise forms.ValidationError(
                    NOT_A_TEXT, code="shape", params={"where": where, "kind": kind}
                )


LIST = Shape(list)
OBJECT = Shape(dict)
TEXTS = Shape(list, texts=True)  # skills, languages, origins, content types, words


class JSONTextarea(forms.Textarea):
    """Monospace, as tall and as wide as the JSON in it (within bounds), no spell-checking."""

    class Media:
        css = {"all": ["parley/admin/admin.css"]}

    def __init__(self, attrs=None):
        base = {"class": "vLargeTextField parley-json", "spellcheck": "false"}
        super().__init__({**base, **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        lines = (context["widget"]["value"] or "").split("\n")
        context["widget"]["attrs"]["rows"] = min(max(len(lines) + 1, MIN_ROWS), MAX_ROWS)
        widest = max(len(line) for line in lines) + 2
        context["widget"]["attrs"]["cols"] = min(max(widest, MIN_COLS), MAX_COLS)
        return context


class StoredJSONField(forms.JSONField):
    widget = JSONTextarea
    default_error_messages = {
        # "Enter a valid JSON" begins Django's own message, which supervisors may know.
        "invalid": _("Enter a valid JSON value. %(problem)s"),
        "empty": _("Enter JSON: %(empty)s for none."),
    }

    def __init__(self, *, shape: Shape | None = None, **kwargs):
        self.shape = shape
        super().__init__(**kwargs)

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            empty = self.shape.empty if self.shape else _("[] or {}")
            raise forms.ValidationError(
                self.error_messages["empty"], code="empty", params={"empty": empty}
            )
        if isinstance(value, (list, dict, int, float, forms.fields.JSONString)):
            return value
        try:
            parsed = json.loads(
                value,
                cls=self.decoder,
                parse_float=_finite,
                parse_int=inbound.parse_int,
                parse_constant=_no_constant,
            )
            inbound.check(parsed)  # NUL, lone surrogates, integers past 64 bits, nesting
        except json.JSONDecodeError as exc:
            problem = _("Line %(line)s, column %(column)s: %(reason)s.") % {
                "line": exc.lineno,
                "column": exc.colno,
                "reason": exc.msg,
            }
            raise self._invalid(problem) from None
        except (ValueError, ParleyValidationError) as exc:
            raise self._invalid(str(exc)) from None
        except RecursionError:
            raise self._invalid(inbound.too_deep(inbound.max_depth()).message) from None
        if isinstance(parsed, str):
            return forms.fields.JSONString(parsed)
        return parsed

    def _invalid(self, problem: str) -> forms.ValidationError:
        return forms.ValidationError(
            self.error_messages["invalid"], code="invalid", params={"problem": problem}
        )

    def validate(self, value):
        # The shape first: [] where an object belongs is the wrong shape, not "required".
        if self.shape is not None:
            self.shape.check(value)
        super().validate(value)

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except (ValueError, RecursionError):
            return forms.fields.InvalidJSONInput(data)

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value  # what the supervisor typed, to correct at the line and column given
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class JSONShapes:
    """ModelAdmin mixin: each JSONField's form field gets its shape, ``json_shapes[name]``
    or else the container of the field's default (``default=list``: a list)."""

    json_shapes: dict[str, Shape] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            default = LIST if db_field.default is list else None
            default = OBJECT if db_field.default is dict else default
            kwargs.setdefault("shape", self.json_shapes.get(db_field.name, default))
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def install() -> None:
    """Every ModelAdmin made after this uses StoredJSONField for its JSONFields."""
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS.setdefault(models.JSONField, {})
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.JSONField]["form_class"] = StoredJSONField
