"""`core.bulk.indexes_deferred`: SQLite's plain indexes dropped for a bulk load and built again
after it, all of them or only the foreign keys' (the rollups read their tables by the others)."""

import pytest
from django.db import connection, transaction

from gridgov.analytics.models import DailyRollup
from gridgov.core import bulk

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only: PostgreSQL keeps its indexes"),
]


def plain_indexes(table: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                       "AND sql LIKE 'CREATE INDEX %%'", [table])
        names = [row[0] for row in cursor.fetchall()]
        return {name: [row[2] for row in cursor.execute(f'PRAGMA index_info("{name}")').fetchall()]
                for name in names}


def test_only_the_foreign_keys_indexes_are_deferred_and_all_come_back():
    table = DailyRollup._meta.db_table
    before = plain_indexes(table)
    keys = {f.column for f in DailyRollup._meta.concrete_fields if f.is_relation}
    on_keys = {name for name, columns in before.items() if len(columns) == 1 and columns[0] in keys}
    assert on_keys and set(before) - on_keys  # both kinds exist on this table
    with transaction.atomic(), bulk.indexes_deferred(DailyRollup, foreign_keys_only=True):
        assert set(plain_indexes(table)) == set(before) - on_keys
    assert plain_indexes(table) == before
    with transaction.atomic(), bulk.indexes_deferred(DailyRollup):
        assert plain_indexes(table) == {}
    assert plain_indexes(table) == before

