"""PostgreSQL for the test suite: flushes with DELETE instead of TRUNCATE.

Every transactional test (consumers, concurrency) ends with a flush of all tables. A
TRUNCATE of ~50 tables swaps every table's and index's files and fsyncs them: about half a
second per test. The tables hold a handful of rows, so DELETE is far cheaper; Django's
foreign keys are DEFERRABLE INITIALLY DEFERRED, so the order of the deletes is free.

Content types and permissions are reference data that no test changes; keeping them spares
the post-migrate handlers re-inserting them after every flush.
"""

from django.db.backends.postgresql import operations

from config.postgresql import base

KEEP = {"django_content_type", "auth_permission"}


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables if table not in KEEP]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
