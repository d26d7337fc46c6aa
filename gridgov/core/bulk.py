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

from django.db import connection, models
from django.utils import timezone

from gridgov.privacy.fields import LookupHashField

BATCH = 1000  # rows per executemany call on SQLite

_PLAIN_FIELDS = (models.AutoField, models.BigAutoField, models.CharField, models.TextField,
                 models.BooleanField, models.IntegerField, models.SmallIntegerField,
                 models.PositiveIntegerField, models.PositiveSmallIntegerField, models.BigIntegerField,
                 models.FloatField, models.ForeignKey, models.SlugField)


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


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
    return lambda row: prep(read(row), connection)


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
    convert = [_converter(f, now, dicts, by_name) for f in fields]
    quote = connection.ops.quote_name
    target = f"{quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)})"

    def values(row) -> tuple:
        if not dicts:
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
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [connection.ops.quote_name(table), column, count])
            return [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({quote(column)}) FROM {quote(table)}")
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))
