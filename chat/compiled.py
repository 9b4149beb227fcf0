"""A queryset that Django compiles once: for the hottest reads of a socket's connect.

Building and compiling a queryset costs more CPU than running it: in a burst of widget
connects Django's SQL compiler alone took 29 % of the database threads' samples, and the
statements are the same each time but for an id or two (docs/benchmarks.md "What a
reconnect costs"). A ``CompiledQuery`` asks Django for the SQL once per database alias,
with a sentinel in place of each varying value, then runs that SQL with the real values and
builds the model instances as Django's own ModelIterable does (``from_db``, the
select_related populators, the fields' converters). The SQL is Django's, for whichever
database runs (PostgreSQL or the embedded SQLite): there is no second copy to keep equal.
tests/chat/test_compiled.py holds the results equal to the plain querysets'.

Only for querysets whose shape does not depend on the values (no ``__in`` of a list of
varying length, no optional filters): ``build`` is called once, with the sentinels.
A text parameter is named in ``texts``; its sentinel is a string no caller sends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators

# Each varying parameter gets its own value while Django compiles: one inside every integer
# column's range (Django drops a condition that a value past the range decides, such as
# ``seq > -1`` on a positive field) and unlike any constant of these statements.
_SENTINEL_BASE = 2_147_000_000
_TEXT_SENTINEL = "\x1fcompiled-query-parameter-{}\x1f"


class CompiledQuery:
    def __init__(
        self, build: Callable[..., QuerySet], *names: str, texts: tuple[str, ...] = ()
    ) -> None:
        self._build = build
        self._sentinels: dict[str, Any] = {name: _SENTINEL_BASE + k for k, name in enumerate(names)}
        self._sentinels.update({name: _TEXT_SENTINEL.format(k) for k, name in enumerate(texts)})
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def queryset(self, **values: Any) -> QuerySet:
        """The plain queryset for these values (the ORM's path, uncompiled)."""
        return self._build(**values)

    def __call__(self, *, using: str = "default", **values: Any) -> list:
        plan = self._plans.get(using)
        if plan is None:
            with self._lock:
                plan = self._plans.get(using) or self._compile(using)
                self._plans[using] = plan
        return plan.run(using, values)

    def _compile(self, using: str) -> _Plan:
        qs = self._build(**self._sentinels).using(using)
        compiler = qs.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        by_value = {v: name for name, v in self._sentinels.items()}
        slots = []
        for p in params:
            # Django may wrap an integer for its driver (psycopg's Int4 for a lookup on an
            # integer column): the real value goes in the same wrapper.
            if isinstance(p, str):
                name = by_value.get(p)
            elif isinstance(p, int) and not isinstance(p, bool):
                name = by_value.get(int(p))
            else:
                name = None
            slots.append((name, type(p) if name else p))
        missing = set(self._sentinels) - {name for name, _ in slots if name}
        if missing:
            raise ValueError(f"parameters not in the compiled SQL: {sorted(missing)}")
        return _Plan(qs, compiler, sql, slots)


class _Plan:
    """The compiled SQL and what turns its rows into instances (ModelIterable's steps).
    ``slots``: each parameter as ``(name, wrapper type)`` of a varying one or ``(None,
    value)`` of a constant."""

    def __init__(self, qs: QuerySet, compiler, sql: str, slots: list) -> None:
        self.sql, self.slots = sql, slots
        select, klass_info = compiler.select, compiler.klass_info
        if compiler.annotation_col_map or qs._known_related_objects or compiler.has_extra_select:
            raise ValueError("annotations and extra selects are not supported")
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, qs.db)
        # {position: (converters, expression)}; each is called with the running thread's
        # connection (the compiler's belongs to the thread that compiled).
        self.converters = list(compiler.get_converters([s[0] for s in select]).items())

    def run(self, using: str, values: dict[str, Any]) -> list:
        params = [wrap(values[name]) if name else wrap for name, wrap in self.slots]
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        objects = []
        for raw in rows:
            row = list(raw)
            for pos, (convs, expression) in self.converters:
                value = row[pos]
                for converter in convs:
                    value = converter(value, expression, connection)
                row[pos] = value
            obj = self.model.from_db(using, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects


# --- writes -------------------------------------------------------------------------------------
# The send's own writes, in statements made once per table and set of columns: Django
# compiling an INSERT or UPDATE for every message cost more than SQLite running it. The
# values are prepared by each field as the ORM prepares them (pre_save, get_db_prep_save),
# so what is stored is what Model.save and QuerySet.update store. Not for models with
# signal receivers or database defaults: nothing here sends signals.
_statements: dict[tuple, str] = {}


def _sql(key: tuple, make: Callable[[Any], str], connection) -> str:
    sql = _statements.get(key)
    if sql is None:
        sql = _statements.setdefault(key, make(connection.ops.quote_name))
    return sql


def insert(obj: Any, *, using: str = "default") -> Any:
    """``obj.save()`` of a new row with an automatic primary key, in one INSERT …
    RETURNING (Model.save when the database cannot return the key)."""
    connection = connections[using]
    if not connection.features.can_return_columns_from_insert:
        obj.save(using=using, force_insert=True)
        return obj
    meta = type(obj)._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]

    def make(qn) -> str:
        columns = ", ".join(qn(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        return (
            f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks}) "
            f"RETURNING {qn(meta.pk.column)}"
        )

    sql = _sql(("insert", connection.vendor, meta.label), make, connection)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding, obj._state.db = False, using
    return obj


def update(
    model: Any, pk: Any, values: dict[str, Any], *, below: tuple[str, Any] | None = None,
    using: str = "default",
) -> int:  # fmt: skip
    """``model.objects.filter(pk=pk).update(**values)``, with ``below=(name, value)`` the
    filter ``name__lt=value`` beside it; the number of rows changed."""
    connection = connections[using]
    meta = model._meta
    fields = [meta.get_field(name) for name in values]
    guard = meta.get_field(below[0]) if below else None

    def make(qn) -> str:
        sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        where = f"{qn(meta.pk.column)} = %s"
        if guard is not None:
            where += f" AND {qn(guard.column)} < %s"
        return f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {where}"

    key = ("update", connection.vendor, meta.label, tuple(values), below and below[0])
    sql = _sql(key, make, connection)
    params = [
        f.get_db_prep_save(v, connection) for f, v in zip(fields, values.values(), strict=True)
    ]
    params.append(pk)
    if guard is not None:
        params.append(guard.get_db_prep_value(below[1], connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
