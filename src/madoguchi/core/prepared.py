"""A query of fixed shape whose SQL is compiled once per process and database, then run with
new values.

Compiling a queryset is most of the CPU time of the small statements every staff page runs
(the user's memberships, the procedures of the filter's list, the staff of the bulk form):
0.3-0.9 ms each, for statements PostgreSQL answers in 0.1-0.2 ms. The rows are always read
from the database (nothing is cached but the SQL text), so a change is seen at the next
request in every process.

`build(**values)` returns the queryset for the values named in `names` (ints: ids; a list
of ids is compiled per length). A query whose structure depends on more than that takes a
`shape` (any hashable, passed first to `build`: `build(shape, **values)`). It is
called once per shape with a distinct negative placeholder for each value (no real id is
negative), the placeholders are found among the compiled parameters and replaced by the real
values at each run. A value that does not end up as one parameter of its own (a placeholder
folded into an expression, or used twice in a way the compiler rewrites) is refused when the
SQL is compiled, so a query that cannot be prepared fails loudly in its tests.

Names listed in `strings` take a string instead (a token's digest, say): their placeholder is
a string no real value holds. A model instance given for an id stands for its pk. `first()`
runs the query limited to its first row (by pk when it has no order) and returns that object
or None: the portal finds a resident's draft by its token this way at every request."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connections, router
from django.db.models.query import get_related_populators

# Negative (no real id is) and within a 32-bit integer column's range (the ORM drops an
# equality with a value out of it).
_PLACEHOLDER_BASE = -2_000_000_000


class PreparedQuery:
    def __init__(
        self, model, build: Callable, names: tuple[str, ...], *, strings: tuple[str, ...] = ()
    ):
        self.model = model
        self.build = build
        self.names = tuple(names)
        self.strings = tuple(strings)
        self._compiled: dict = {}

    def _compile(self, connection, shape: dict, structure, first: bool):
        placeholders: dict = {}
        arguments: dict = {}
        counter = 0
        for name in self.strings:
            placeholders[f"\x00{name}\x00"] = name
            arguments[name] = f"\x00{name}\x00"
        for name in self.names:
            count = shape.get(name)
            if count is None:  # a single value
                counter += 1
                placeholders[_PLACEHOLDER_BASE - counter] = name
                arguments[name] = _PLACEHOLDER_BASE - counter
            else:  # a list of `count` values
                values = []
                for index in range(count):
                    counter += 1
                    placeholders[_PLACEHOLDER_BASE - counter] = (name, index)
                    values.append(_PLACEHOLDER_BASE - counter)
                arguments[name] = values
        queryset = (
            self.build(**arguments) if structure is None else self.build(structure, **arguments)
        )
        if first:
            queryset = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = []
        seen = set()
        for param in params:
            slot = placeholders.get(param) if isinstance(param, int | str) else None
            if slot is not None:
                seen.add(slot)
            slots.append(slot)
        if seen != set(placeholders.values()):
            raise ValueError(f"placeholders missing from the compiled SQL: {sql}")
        select, klass_info = compiler.select, compiler.klass_info
        compiled = {
            "sql": sql,
            "params": list(params),
            "slots": slots,
            "converters": compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
        }
        if klass_info is not None:
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            compiled["init_list"] = [f[0].target.attname for f in select[start:end]]
            compiled["fields"] = (start, end)
            compiled["populators"] = get_related_populators(klass_info, select, connection.alias)
        return compiled

    def _run(self, values: dict, structure=None, first: bool = False):
        connection = connections[router.db_for_read(self.model)]
        shape = {name: len(value) for name, value in values.items() if isinstance(value, list)}
        key = (connection.alias, connection.vendor, tuple(sorted(shape.items())), structure, first)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(connection, shape, structure, first)
            if len(self._compiled) >= 256:  # shapes are few; never grows without bound
                self._compiled.clear()
            self._compiled[key] = compiled
        params = []
        for param, slot in zip(compiled["params"], compiled["slots"], strict=True):
            if slot is None:
                params.append(param)
            elif isinstance(slot, tuple):
                params.append(values[slot[0]][slot[1]])
            else:
                value = values[slot]
                params.append(getattr(value, "pk", value))  # an instance stands for its pk
        with connection.cursor() as cursor:
            cursor.execute(compiled["sql"], params)
            rows = cursor.fetchall()
        converters = compiled["converters"]
        if converters:
            # As the compiler applies them, with this thread's connection.
            converted = []
            for row in rows:
                row = list(row)
                for position, (functions, expression) in converters.items():
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
                converted.append(tuple(row))
            rows = converted
        return connection, compiled, rows

    def rows(self, shape=None, **values) -> list[tuple]:
        """The rows of a values_list() query, as tuples."""
        _connection, _compiled, rows = self._run(values, shape)
        return rows

    def objects(self, shape=None, **values) -> list:
        """Model instances, with the related objects of select_related, as the ORM makes them."""
        connection, compiled, rows = self._run(values, shape)
        return self._instances(connection, compiled, rows)

    def first(self, shape=None, **values):
        """The query's first object (by pk when it has no order), or None."""
        connection, compiled, rows = self._run(values, shape, first=True)
        return self._instances(connection, compiled, rows)[0] if rows else None

    def _instances(self, connection, compiled, rows) -> list:
        start, end = compiled["fields"]
        init_list, populators = compiled["init_list"], compiled["populators"]
        result = []
        for row in rows:
            instance = self.model.from_db(connection.alias, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            result.append(instance)
        return result


_by_pk: dict[type, PreparedQuery] = {}


def by_pk(model) -> PreparedQuery:
    """The compiled lookup of one row of `model` by its primary key (`.first(pk=...)`), one
    per model and process: the session's user and its second factor, read at every request
    of a member of staff."""
    lookup = _by_pk.get(model)
    if lookup is None:
        lookup = _by_pk.setdefault(
            model, PreparedQuery(model, lambda pk: model._default_manager.filter(pk=pk), ("pk",))
        )
    return lookup
