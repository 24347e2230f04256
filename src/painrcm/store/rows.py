"""Many rows written at once, the same way on both databases (the bulk writers: store/bulk.py, the
stored services, the workspace generator in bench/).

Rows go in as tuples in column order: PostgreSQL through COPY (one stream per table, no statement to
parse per row: `copy_rows`), SQLite through one executemany of a prepared INSERT. Each value is
converted once, as a Core statement would bind it (the column type's bind processor; JSON serialized
with the dialect's serializer). New rows get their IDs from `reserve_ids` before they are written, so
the writer knows them without RETURNING. Updates by ID are one statement over arrays on PostgreSQL
(`unnest`), one executemany on SQLite.

Core statements and COPY bypass the session's flush guard, so the rows are checked here, once per
value, as `db.check_text` checks ORM rows (text too long for its column or with a NUL character; a
JSON text for an escaped NUL), and the statements are marked as checked (`db.CHECKED`): the
connection's NUL guard does not walk every document a second time. ORM objects of the rows written
are the caller's to expire.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ARRAY, JSON, Connection, String, any_, bindparam, exc
from sqlalchemy.orm import Session

from painrcm.store.db import CHECKED, BadText, check_value, nul_in

_COLLATE = re.compile(r" COLLATE \S+")


def _dumps(dialect: Any) -> Callable[[Any], str]:
    """The dialect's JSON serializer (what a Core statement would use)."""
    return getattr(dialect, "_json_serializer", None) or json.dumps


class JsonText(str):
    """A JSON value serialized once for several rows that store it (a claim's document goes into its
    claim row and its version row): the writer takes the text as it is. `value` is what it holds."""

    value: Any


def serializer(s: Session) -> Callable[[Any], str]:
    """The JSON serializer of the session's database (what the writer uses for a JSON column)."""
    return _dumps(s.get_bind().dialect)


def text_of(dumps: Callable[[Any], str], value: Any) -> JsonText:
    """`value` serialized by `dumps` (`serializer`), to be written as it is."""
    out = JsonText(dumps(value))
    out.value = value
    return out


def json_text(s: Session, value: Any) -> JsonText:
    """`value` serialized as the writer would serialize it for a JSON column of the session's database."""
    return text_of(serializer(s), value)


def _plain(value: Any) -> tuple[Any, ...] | None:
    """A short list of text and whole numbers or a dict of text (a claim line's modifiers and pointers, a
    run's editions) as a key: equal keys serialize to the same JSON (exact types only: 1, 1.0 and True
    are equal keys but not the same JSON). Anything else: None."""
    if type(value) is list and len(value) <= 8 and all(type(v) is str or type(v) is int for v in value):
        return (list, *value)
    if (
        type(value) is dict
        and len(value) <= 16
        and all(type(k) is str and type(v) is str for k, v in value.items())
    ):
        return (dict, *value.items())
    return None


def _json_bind(dialect: Any, table: str, column: str, none_as_null: bool) -> Callable[[Any], Any]:
    dumps = _dumps(dialect)
    # the texts of the small values many rows share (`_plain`), each serialized and checked once
    known: dict[tuple[Any, ...], str] = {}

    def serialize(value: Any) -> str:
        text = dumps(value)
        # JSON writes a NUL as \\u0000: the value is walked only when that sequence occurs at all
        if "\\u0000" in text and nul_in(value):
            raise BadText(table, column, "text with a NUL character")
        return text

    def convert(value: Any) -> Any:
        if value is None and none_as_null:
            return None
        if isinstance(value, JsonText):
            if "\\u0000" in value and nul_in(value.value):
                raise BadText(table, column, "text with a NUL character")
            return str(value)
        key = _plain(value)
        if key is None:
            return serialize(value)
        text = known.get(key)
        if text is None:
            text = known[key] = serialize(value)
        return text

    return convert


def _check_texts(table: Any, columns: Sequence[str], rows: list[list[Any]]) -> None:
    """Refuse text the schema cannot hold, as the flush guard does (`db.check_text`): a column's values
    are looked at one by one only when the column holds a NUL or a value too long at all."""
    for i, key in enumerate(columns):
        col = table.c[key]
        if not isinstance(col.type, String):
            continue
        texts = [v for row in rows if isinstance(v := row[i], str)]
        limit = col.type.length
        if "\x00" in "".join(texts) or (limit is not None and max(map(len, texts), default=0) > limit):
            for v in texts:
                check_value(table.name, key, limit, v)


def _tuples(
    dialect: Any, table: Any, rows: list[dict[str, Any]], *, insert: bool
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The rows, checked, as tuples in column order, each value as the driver takes it (the column
    type's bind processor; JSON serialized and checked for a NUL); for an insert, a column the rows
    leave out that has a Python-side default gets it, as a Core INSERT would give it."""
    given = list(rows[0])
    defaults = [
        (c.key, c.default)
        for c in table.columns
        if insert
        and c.key not in rows[0]
        and c.default is not None
        and (c.default.is_scalar or c.default.is_callable)
    ]
    columns = given + [k for k, _d in defaults]
    values = [[row[k] for k in given] for row in rows]
    if defaults:
        for v in values:
            v += [d.arg(None) if d.is_callable else d.arg for _k, d in defaults]
    _check_texts(table, columns, values)
    binds = []
    for i, key in enumerate(columns):
        col = table.c[key]
        if isinstance(col.type, JSON):
            binds.append((i, _json_bind(dialect, table.name, key, col.type.none_as_null)))
        elif (bind := col.type._cached_bind_processor(dialect)) is not None:
            binds.append((i, bind))
    for v in values:
        for i, bind in binds:
            v[i] = bind(v[i])
    return columns, [tuple(v) for v in values]


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL COPY of driver-ready rows into `table` (psycopg 3), in the connection's transaction.
    A database error is raised as SQLAlchemy raises it for a statement (IntegrityError, ...), with
    the database's primary message only (no row data)."""
    quote = conn.dialect.identifier_preparer.quote  # a column may be named by a keyword ("on")
    statement = f"COPY {table} ({', '.join(map(quote, columns))}) FROM STDIN"
    raw = conn.connection.dbapi_connection
    assert raw is not None
    dbapi = conn.dialect.loaded_dbapi
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as e:
        err = exc.DBAPIError.instance(
            statement, None, e, dbapi.Error, hide_parameters=True, dialect=conn.dialect
        )
        # the primary message only: COPY's context line (and a constraint's detail) quote the row's data
        primary = getattr(getattr(e, "diag", None), "message_primary", None) or type(e).__name__
        err.args = (f"({type(e).__module__}.{type(e).__name__}) {primary}",)
        raise err from None


def reserve_ids(s: Session, table: Any, n: int) -> list[int]:
    """IDs for `n` new rows of `table`, in increasing order: PostgreSQL takes them from the table's
    sequence (no other writer gets them); SQLite numbers on from the largest (as it would itself: its
    writers are serialized, and a transaction that read an older snapshot cannot write at all)."""
    if n == 0:
        return []
    conn = s.connection()
    if conn.dialect.name == "postgresql":
        return sorted(
            conn.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {int(n)})"
            ).scalars()
        )
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table.name}").scalar_one()
    return list(range(top + 1, top + 1 + n))


def insert_rows(s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (every row names the same columns) in one COPY or one executemany."""
    if not rows:
        return
    conn = s.connection()
    columns, values = _tuples(conn.dialect, table, rows, insert=True)
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table.name, columns, values)
    else:
        marks = ", ".join("?" * len(columns))
        names = ", ".join(map(conn.dialect.identifier_preparer.quote, columns))
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
            values,
            execution_options={CHECKED: True},
        )


def insert_ids(s: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows and return their new IDs in the rows' order."""
    ids = reserve_ids(s, table, len(rows))
    insert_rows(s, table, [{"id": pk, **row} for pk, row in zip(ids, rows, strict=True)])
    return ids


def update_by_id(s: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Set columns of rows by ID; each row holds `b_id` (one row per ID) and the same columns. A
    column with an on-update default the rows do not set gets it, as a Core UPDATE would.
    PostgreSQL: one statement over arrays of the values (`unnest`); SQLite: one executemany."""
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    columns, values = _tuples(
        dialect, table, [{k: v for k, v in r.items() if k != "b_id"} for r in rows], insert=False
    )
    sets = [f"{c} = u.{c}" for c in columns]
    for c in table.columns:
        if c.onupdate is not None and c.key not in columns and c.onupdate.is_clause_element:
            sets.append(f"{c.key} = {c.onupdate.arg.compile(dialect=dialect)}")
    ids = [r["b_id"] for r in rows]
    if dialect.name == "postgresql":
        types = [table.c.id.type] + [table.c[c].type for c in columns]
        # arrays of the columns' types, without a column's collation (`COLLATE "C"[]` is no type)
        names = [_COLLATE.sub("", t.compile(dialect=dialect)) for t in types]
        arrays = ", ".join(f"CAST(%s AS {n}[])" for n in names)
        conn.exec_driver_sql(
            f"UPDATE {table.name} SET {', '.join(sets)} "
            f"FROM unnest({arrays}) AS u(id, {', '.join(columns)}) WHERE {table.name}.id = u.id",
            (ids, *map(list, zip(*values, strict=True))),
            execution_options={CHECKED: True},
        )
        return
    sql_sets = [f"{c} = ?" for c in columns] + sets[len(columns) :]
    conn.exec_driver_sql(
        f"UPDATE {table.name} SET {', '.join(sql_sets)} WHERE id = ?",
        [(*v, pk) for v, pk in zip(values, ids, strict=True)],
        execution_options={CHECKED: True},
    )


def among(s: Session, column: Any, values: Iterable[Any]) -> Any:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter instead of one per value
    (the driver parses a statement with a long IN list again on every execution)."""
    if s.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
