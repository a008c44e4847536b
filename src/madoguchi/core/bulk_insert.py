"""Many new rows of one model in one INSERT, without Django's per-value work.

`insert(objs)` does what `Model.objects.bulk_create(objs)` does for new rows of a model
without parents, and sends PostgreSQL the very same statement
(``INSERT … SELECT * FROM UNNEST(%s::type[], …) RETURNING id``); the objects get their ids
and are marked saved, as with bulk_create. What differs is the Python work before it:
bulk_create passes every value of every row through five method calls (pre_save, an
expression check, get_db_prep_save, a placeholder, an as_sql check) — for the マイナポータル
intake, seven rows of about a hundred values per package, the largest share of its CPU time
outside the signature check (bench/mynaportal_bench.py, BENCH_PHASES=1). Here each column's
preparation is chosen once per model: a value whose Python type is exactly what the
column's Django field stores unchanged (str for CharField, int for IntegerField, an aware
datetime for DateTimeField, ...) goes as it is; any other value — and every value of a field
that converts (JSONField, FileField, custom fields) — goes through the field's own
`pre_save` and `get_db_prep_save`, as with bulk_create.

Anything the fast path does not cover falls back to bulk_create itself: another database,
one row, a model with parents, a row whose key the database would give but that has one,
generated columns, expressions as values (a value left to the database's default included). tests/core/test_bulk_insert.py compares both, row by row.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from functools import cache

from django.db import connections, models, router

# Exact field classes (not subclasses: those may convert) whose get_db_prep_save on
# PostgreSQL returns a value of these exact types unchanged.
_PASS_THROUGH: dict[type, tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.SlugField: (str,),
    models.EmailField: (str,),
    models.URLField: (str,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.AutoField: (int,),
    models.BigAutoField: (int,),
    models.SmallAutoField: (int,),
    models.BooleanField: (bool,),
    models.DateField: (datetime.date,),
    models.DateTimeField: (datetime.datetime,),  # aware only: see _Column.values
    models.UUIDField: (uuid.UUID,),
}
# pre_save of these exact classes is a plain getattr unless auto_now / auto_now_add is set.
_DATE_FIELDS = (models.DateField, models.DateTimeField)


@dataclass(frozen=True)
class _Column:
    field: models.Field
    attname: str
    # The exact types passed as they are; () = always through the field.
    types: tuple[type, ...]
    # pre_save is a plain attribute read.
    plain: bool
    aware: bool  # DateTimeField: only aware datetimes pass as they are

    def values(self, objs: list, connection) -> list:
        """This column's value of every row, prepared as bulk_create would prepare it."""
        if self.plain:
            values = [getattr(obj, self.attname) for obj in objs]
        else:
            values = [self.field.pre_save(obj, True) for obj in objs]
        types, aware = self.types, self.aware
        if types and all(
            value is None or (type(value) in types and not (aware and value.tzinfo is None))
            for value in values
        ):
            return values
        if any(hasattr(value, "resolve_expression") for value in values):
            raise _Unsupported
        prepare = self.field.get_db_prep_save
        return [prepare(value, connection=connection) for value in values]


class _Unsupported(Exception):
    """A value bulk_create would compile as an expression: leave it to bulk_create."""


@dataclass(frozen=True)
class _Plan:
    sql: str
    columns: tuple[_Column, ...]
    pk_attname: str
    automatic: bool  # the key is the database's: objects come without one, get it back


def _column(field: models.Field) -> _Column:
    if field.is_relation:
        # A foreign key stores its target's value; other relations are left to the field.
        relation = type(field) in (models.ForeignKey, models.OneToOneField)
        target = field.target_field
        types = _PASS_THROUGH.get(type(target), ()) if relation else ()
    else:
        target = field
        types = _PASS_THROUGH.get(type(field), ())
    plain = type(field).pre_save is models.Field.pre_save or (
        type(field) in _DATE_FIELDS and not field.auto_now and not field.auto_now_add
    )
    return _Column(
        field=field,
        attname=field.attname,
        types=types,
        plain=plain,
        aware=type(target) is models.DateTimeField,
    )


_AUTO_KEYS = (models.AutoField, models.BigAutoField, models.SmallAutoField)


@cache
def _plan(model, alias: str) -> _Plan | None:
    """How rows of `model` are inserted on `alias`; None when bulk_create must do it."""
    connection = connections[alias]
    opts = model._meta
    if connection.vendor != "postgresql" or opts.parents:
        return None
    pk = opts.pk
    # An automatic key is the database's (sent back by RETURNING); any other the row's own.
    automatic = type(pk) in _AUTO_KEYS
    fields = [f for f in opts.concrete_fields if not (automatic and f is pk)]
    for f in fields:
        if getattr(f, "generated", False) or hasattr(f, "get_placeholder"):
            return None
        internal = (f.target_field if f.is_relation else f).get_internal_type()
        if internal not in connection.data_types:  # e.g. arrays: not in UNNEST
            return None
    quote = connection.ops.quote_name
    # As bulk_create: the types without their length (varchar[], not varchar(50)[]).
    casts = ", ".join(f"(%s)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT * FROM UNNEST({casts})"
    )
    if automatic:
        sql += f" RETURNING {quote(pk.column)}"
    return _Plan(
        sql=sql,
        columns=tuple(_column(f) for f in fields),
        pk_attname=pk.attname,
        automatic=automatic,
    )


def insert(objs) -> list:
    """Insert new `objs` (all of one model) as bulk_create would; returns them, with their
    ids when the database gives them."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    alias = router.db_for_write(model)
    plan = _plan(model, alias) if len(objs) > 1 else None
    if plan is None or any(
        type(o) is not model or (o.pk is None) is not plan.automatic for o in objs
    ):
        return model.objects.using(alias).bulk_create(objs)
    connection = connections[alias]
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    try:
        columns = [column.values(objs, connection) for column in plan.columns]
    except _Unsupported:
        return model.objects.using(alias).bulk_create(objs)
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, columns)
        ids = cursor.fetchall() if plan.automatic else None
    for index, obj in enumerate(objs):
        if ids is not None:
            setattr(obj, plan.pk_attname, ids[index][0])
        obj._state.adding = False
        obj._state.db = alias
    return objs
