"""The admin's form field for every JSONField: JSON that PostgreSQL can store, or an error.

Django's admin field accepts any JSON and leaves the rest to the database and the models:
``1e309`` (read as infinity, which PostgreSQL's jsonb refuses), a cleared field (None, into
a NOT NULL column) and NUL characters were all 500s (a black-box probe of the admin). Each is
an error on the form now; what shape a field takes (a list of skills) is still the model's
``clean``. Installed for every ModelAdmin (chat's admin module is imported first of the
project's; see install)."""

from __future__ import annotations

import json
import math

from django import forms
from django.contrib.admin import options
from django.db import models

from chat import inbound
from chat.exceptions import ValidationError as ParleyValidationError


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large a number")
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class StoredJSONField(forms.JSONField):
    default_error_messages = {
        "invalid": "Enter valid JSON (a number, text, list or object that can be stored).",
        "empty": "Enter JSON: [] or {} for none.",
    }

    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            raise forms.ValidationError(self.error_messages["empty"], code="empty")
        if isinstance(value, (list, dict, int, float, forms.fields.JSONString)):
            return value
        try:
            parsed = json.loads(
                value, cls=self.decoder, parse_float=_finite, parse_constant=_no_constant
            )
            inbound.check(parsed)  # NUL, lone surrogates, integers past 64 bits
        except (json.JSONDecodeError, ValueError, RecursionError, ParleyValidationError):
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid", params={"value": value}
            ) from None
        if isinstance(parsed, str):
            return forms.fields.JSONString(parsed)
        return parsed

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except (ValueError, RecursionError):
            return forms.fields.InvalidJSONInput(data)


def install() -> None:
    """Every ModelAdmin made after this uses StoredJSONField for its JSONFields."""
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS.setdefault(models.JSONField, {})
    options.FORMFIELD_FOR_DBFIELD_DEFAULTS[models.JSONField]["form_class"] = StoredJSONField
