"""PostgreSQL for the test suite: flushes with DELETE instead of TRUNCATE.

Every transactional test (consumers, concurrency) ends with a flush of all tables. A
TRUNCATE of ~50 tables swaps every table's and index's files and fsyncs them: about half a
second per test. The tables hold a handful of rows, so DELETE is far cheaper; Django's
foreign keys are DEFERRABLE INITIALLY DEFERRED, so the order of the deletes is free.

Content types and permissions are reference data that no test changes; keeping them spares
the post-migrate handlers re-inserting them after every flush, and with them kept those
handlers are not run at all after a flush (tests/conftest.py): they re-read every app's
content types and permissions (about 70 ms a transactional test) to find nothing missing.
"""

from django.db.backends.postgresql import operations

from config.postgresql import base
from tests.reference_data import KEEP


class DatabaseOperations(operations.DatabaseOperations):
    # Whether the last flush kept the reference data (tests/conftest.py then spares the
    # post-migrate handlers, which would only find it there).
    kept_reference_data = False

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        self.kept_reference_data = not (reset_sequences or allow_cascade or not tables)
        if not self.kept_reference_data:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in KEEP]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
