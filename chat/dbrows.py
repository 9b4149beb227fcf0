"""Model instances from rows a PostgreSQL function returned as ``to_jsonb(row)``."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, FloatField


@functools.cache
def _columns(model) -> list[tuple[str, str, str]]:
    out = []
    for f in model._meta.concrete_fields:
        kind = (
            "dt" if isinstance(f, DateTimeField) else "float" if isinstance(f, FloatField) else ""
        )
        out.append((f.attname, f.column, kind))
    return out


def from_json(model, row: dict[str, Any], *, db: str | None = None) -> Any:
    """An instance as a queryset would give it: JSON columns arrive decoded, timestamps as
    ISO text (the only other conversion the core's and routing's models need). A column missing
    from the row (a user's password) is deferred, as with ``only()``."""
    names, values = [], []
    for attname, column, kind in _columns(model):
        if column not in row:
            continue
        value = row[column]
        if value is not None and kind == "dt":
            value = dt.datetime.fromisoformat(value)
        elif value is not None and kind == "float":
            value = float(value)
        names.append(attname)
        values.append(value)
    return model.from_db(db or connection.alias, names, values)
