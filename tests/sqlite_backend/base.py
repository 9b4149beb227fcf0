"""SQLite for the embedded tier: a flush keeps the reference data, as tests/pg_backend does
for PostgreSQL (content types and permissions, which no test changes), so the post-migrate
handlers need not run after every transactional test (tests/conftest.py)."""

from django.db.backends.sqlite3 import base, operations

from tests.reference_data import KEEP


class DatabaseOperations(operations.DatabaseOperations):
    kept_reference_data = False

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        self.kept_reference_data = not (reset_sequences or allow_cascade or not tables)
        if self.kept_reference_data:
            tables = [table for table in tables if table not in KEEP]
        return super().sql_flush(
            style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
