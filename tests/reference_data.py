"""The tables a test flush keeps (tests/pg_backend, tests/sqlite_backend): reference data
that migrate fills and no test changes."""

KEEP = frozenset({"django_content_type", "auth_permission"})
