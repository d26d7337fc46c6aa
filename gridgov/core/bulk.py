"""Fast inserts of many new rows, shared by the registry's Excel imports and the demo district.

`bulk_create` compiles every value through the ORM's insert compiler (about 10 µs a
value) and builds a model instance per row; a 100,000-row import or a district of
180,000 people spends most of its time there. `insert_rows` writes one prepared INSERT
per batch with `executemany` on SQLite and one COPY stream on PostgreSQL, converting each
value with its own field (so ID numbers and phones are encrypted, and their lookup hashes
computed, exactly as the models' fields do on `save`).

Rows are model instances or, cheaper still, dicts of attname → value (missing keys take
the field's default). Primary keys: left to the database, or reserved first with
`reserve_ids` when the caller needs them (to point other rows at these), and written
with the rows.
"""

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, models
from django.utils import timezone

from gridgov.privacy.fields import LookupHashField

BATCH = 1000  # rows per executemany call on SQLite

_PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.BigIntegerField,
    models.FloatField,
    models.ForeignKey,
    models.SlugField,
)


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reader(field, dicts: bool) -> Callable:
    attname = field.attname
    if not dicts:
        return lambda row: getattr(row, attname)
    default = None if field.primary_key else field.get_default()
    return lambda row: row.get(attname, default)


def _converter(field, now, dicts: bool, fields_by_name: dict) -> Callable:
    """How one field's value becomes a query parameter, decided once per field."""
    read = _reader(field, dicts)
    if isinstance(field, LookupHashField):
        # A hash the caller has computed already (an import looks people up by it first)
        # is kept; otherwise it is the field's own digest of its source, as `pre_save` does.
        source = _reader(fields_by_name[field.source], dicts)
        digest = field.digest
        return lambda row: read(row) or digest(source(row))
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        stamp = field.get_db_prep_save(now, connection)
        return lambda row: stamp
    if type(field) in _PLAIN_FIELDS:
        return read
    if type(field) is models.DateField:
        adapt = connection.ops.adapt_datefield_value
        return lambda row: adapt(read(row))
    prep = field.get_db_prep_save  # encrypts, for one
    if type(field) is models.DateTimeField:
        # An aware datetime (or None) goes straight to the backend's adapter, as the field's own
        # get_db_prep_value would send it after its checks; anything else takes the field's path.
        adapt = connection.ops.adapt_datetimefield_value

        def moment(row):
            value = read(row)
            if value is None or (isinstance(value, datetime) and value.utcoffset() is not None):
                return adapt(value)
            return prep(value, connection)

        return moment
    return lambda row: prep(read(row), connection)


def _dict_values(fields, now, by_name: dict) -> Callable:
    """`values(row)` for dict rows, written out as one function: plain and date values are read
    inline (`row.get(attname, default)`), every other field through its converter. The same
    values as a converter per field, without a call per value (a registry of 580,000 visits and
    180,000 people has ten million of them)."""
    env: dict = {}
    parts = []
    for i, field in enumerate(fields):
        stamped = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if not stamped and (type(field) in _PLAIN_FIELDS or type(field) is models.DateField):
            env[f"d{i}"] = None if field.primary_key else field.get_default()
            read = f"get({field.attname!r}, d{i})"
            if type(field) is models.DateField:
                env[f"a{i}"] = connection.ops.adapt_datefield_value
                read = f"a{i}({read})"
            parts.append(read)
        else:
            env[f"c{i}"] = _converter(field, now, True, by_name)
            parts.append(f"c{i}(row)")
    exec(f"def values(row):\n    get = row.get\n    return ({', '.join(parts)},)\n", env)
    return env["values"]


def insert_rows(model, rows: Sequence, *, with_pk: bool = False) -> None:
    """Insert new rows of `model` (model instances or dicts keyed by attname).

    With `with_pk`, each row's primary key (`row.pk` or `row["id"]`, from `reserve_ids`) is
    written too; otherwise the database numbers the rows and nobody learns their ids.
    Model instances get their foreign keys from related instances saved before them
    (as `bulk_create` does); dicts must carry the `<name>_id` values themselves.
    """
    if not rows:
        return
    dicts = isinstance(rows[0], dict)
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    by_name = {f.name: f for f in model._meta.concrete_fields}
    quote = connection.ops.quote_name
    target = f"{quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    if dicts:
        values = _dict_values(fields, now, by_name)
    else:
        convert = [_converter(f, now, dicts, by_name) for f in fields]

        def values(row) -> tuple:
            row._prepare_related_fields_for_save(operation_name="bulk_create")
            return tuple([fn(row) for fn in convert])

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # COPY: one stream instead of a statement per row
            with cursor.cursor.copy(f"COPY {target} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(values(row))
            return
        sql = f"INSERT INTO {target} VALUES ({', '.join(['%s'] * len(fields))})"
        for batch in chunks(rows, BATCH):
            cursor.executemany(sql, [values(row) for row in batch])


def reserve_ids(model, count: int) -> list[int]:
    """`count` new primary keys for `model`, which no other insert will take.

    PostgreSQL draws them from the table's sequence (safe with concurrent writers);
    SQLite numbers on from the largest id, which is safe because the caller's write
    transaction holds the database's only write lock (call it inside the transaction,
    after this table's previous rows are inserted).
    """
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({quote(column)}) FROM {quote(table)}")
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


@contextmanager
def indexes_deferred(*models, foreign_keys_only: bool = False):
    """On SQLite, drop the models' plain (non-unique) indexes for the block and create them
    again after it; with `foreign_keys_only`, only the single-column indexes of their foreign
    keys (a writer that reads its own tables by the other indexes meanwhile: the rollups).

    An index built once over the loaded rows costs much less than one grown row by row (SQLite,
    182,000 people: 6.3 s of inserts, or 2.1 s without their eight indexes plus 1.5 s to build
    them). For a writer that fills whole tables inside its own transaction (the demo district):
    a failure rolls the indexes back with the rows. Unique indexes stay: they keep checking
    every row as it is written. PostgreSQL keeps its indexes: COPY maintains them cheaply, and
    dropping them made the demo's registry slower there (the deferred foreign-key checks must
    run before an index is built, 47 s instead of 30 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_deferred needs a transaction: a failure must bring the indexes back")
    tables = [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(*_plain_indexes_query(tables))
        dropped = cursor.fetchall()
        if foreign_keys_only:
            keys = {f.column for model in models for f in model._meta.concrete_fields if f.is_relation}
            dropped = [(name, sql) for name, sql in dropped if _index_columns(cursor, name) in
                       [[key] for key in keys]]
        for name, _definition in dropped:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    yield
    with connection.cursor() as cursor:
        for _name, definition in dropped:
            cursor.execute(definition)


def _index_columns(cursor, name: str) -> list[str]:
    cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
    return [row[2] for row in cursor.fetchall()]


def _plain_indexes_query(tables: list[str]) -> tuple[str, list]:
    """(sql, params) listing (name, definition) of the tables' non-unique indexes on SQLite."""
    return (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE 'CREATE INDEX %%' "
        f"AND tbl_name IN ({', '.join(['%s'] * len(tables))})",
        tables,
    )
