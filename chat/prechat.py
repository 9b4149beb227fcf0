"""A site's pre-chat form: what the widget asks before the first chat (name, email, consent
and the site's own fields, each required or not). Pure functions: the form's validation
(admin, on save) and the check of a visitor's answers (chat.services.prechat)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from chat.exceptions import ValidationError

TYPES = {"text", "email", "checkbox", "select"}
BUILT_IN = {"name": "text", "email": "email", "consent": "checkbox"}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_FIELDS = 12
MAX_TEXT = 500


def _label_ok(label: Any) -> bool:
    if isinstance(label, str):
        return 0 < len(label) <= 200
    return (
        isinstance(label, dict)
        and bool(label)
        and all(isinstance(k, str) and isinstance(v, str) and 0 < len(v) <= 200
                for k, v in label.items())
    )  # fmt: skip


def validate_prechat_form(value: Any) -> None:
    """Django validator for Site.prechat_form: {"fields": [{name, type, label, required,
    options}]}; an empty object means no form."""
    if value in ({}, None):
        return
    if not isinstance(value, dict) or set(value) - {"fields"}:
        raise DjangoValidationError('The pre-chat form is an object like {"fields": [...]}.')
    fields = value.get("fields")
    if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
        raise DjangoValidationError(f"fields must be a list of at most {MAX_FIELDS} fields.")
    seen = set()
    for i, field in enumerate(fields):
        where = f"fields[{i}]"
        if not isinstance(field, dict) or set(field) - {
            "name",
            "type",
            "label",
            "required",
            "options",
        }:
            raise DjangoValidationError(
                f"{where}: an object with name, type, label, required, options."
            )
        name = field.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in seen:
            raise DjangoValidationError(f"{where}.name: a unique lower-case identifier.")
        seen.add(name)
        kind = field.get("type", BUILT_IN.get(name, "text"))
        if kind not in TYPES or (name in BUILT_IN and kind != BUILT_IN[name]):
            raise DjangoValidationError(
                f"{where}.type: one of {sorted(TYPES)} (built-ins keep theirs)."
            )
        if name not in BUILT_IN and not _label_ok(field.get("label")):
            raise DjangoValidationError(f"{where}.label: a text or {{language: text}}.")
        if "label" in field and not _label_ok(field["label"]):
            raise DjangoValidationError(f"{where}.label: a text or {{language: text}}.")
        if not isinstance(field.get("required", False), bool):
            raise DjangoValidationError(f"{where}.required: true or false.")
        options = field.get("options")
        if kind == "select" and (
            not isinstance(options, list) or not options
            or not all(isinstance(o, str) and 0 < len(o) <= 100 for o in options)
        ):  # fmt: skip
            raise DjangoValidationError(f"{where}.options: a list of texts.")


def form_fields(form: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The form's fields with their types filled in (a stored form is valid)."""
    out = []
    for field in (form or {}).get("fields", []):
        kind = field.get("type", BUILT_IN.get(field["name"], "text"))
        out.append({**field, "type": kind, "required": bool(field.get("required", False))})
    return out


def answers_clean(form: dict[str, Any] | None, values: Any) -> dict[str, Any]:
    """A visitor's answers checked against the form: each a ValidationError naming its
    field (``values.<name>``) when missing, of the wrong type, or unknown."""
    if not isinstance(values, dict):
        raise ValidationError("values must be an object.", field="values")
    fields = {f["name"]: f for f in form_fields(form)}
    for name in values:
        if name not in fields:
            raise ValidationError(f"{name} is not a field of this form.", field=f"values.{name}")
    clean: dict[str, Any] = {}
    for name, field in fields.items():
        raw = values.get(name)
        where = f"values.{name}"
        if field["type"] == "checkbox":
            if raw is not None and not isinstance(raw, bool):
                raise ValidationError(f"{name} must be true or false.", field=where)
            if field["required"] and raw is not True:
                raise ValidationError(f"{name} is required.", field=where)
            clean[name] = bool(raw)
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if field["required"]:
                raise ValidationError(f"{name} is required.", field=where)
            continue
        if not isinstance(raw, str) or len(raw) > MAX_TEXT:
            raise ValidationError(
                f"{name} must be a text of at most {MAX_TEXT} characters.", field=where
            )
        raw = raw.strip()
        if field["type"] == "email":
            try:
                validate_email(raw)
            except DjangoValidationError as exc:
                raise ValidationError(f"{name} is not a valid email address.", field=where) from exc
        if field["type"] == "select" and raw not in field["options"]:
            raise ValidationError(f"{name} must be one of the options.", field=where)
        clean[name] = raw
    return clean
