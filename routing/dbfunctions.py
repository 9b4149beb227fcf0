"""The router's PostgreSQL functions (routing/sql/route_pick.sql): installing them.

The functions read the latest schema of several apps, so they are not frozen in a
migration (an old migration would install an old copy, or fail on a fresh database):
they are installed from the file after every ``migrate`` that leaves the database fully
migrated (a post_migrate receiver, routing.apps) and by ``manage.py install_routing_sql``.
Installing is idempotent (CREATE OR REPLACE) and cheap when nothing changed: the
installed copy carries the digest of the file it came from, in its comment.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor

SQL_FILE = Path(__file__).resolve().parent / "sql" / "route_pick.sql"
PICK = (
    "parley_route_pick(bigint, timestamptz, boolean, double precision, integer, boolean, "
    "double precision)"
)
MARK = "parley routing sql "


def rendered() -> tuple[str, str]:
    """The file's SQL for this project's user model, and its digest."""
    User = get_user_model()
    username = User._meta.get_field(User.USERNAME_FIELD).column
    text = (
        SQL_FILE.read_text()
        .replace("{username}", username)
        .replace("{user_table}", User._meta.db_table)
    )
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


def installed_digest(*, using: str = "default") -> str | None:
    """The digest of the installed copy; None when it is missing (or not ours)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [PICK])
        comment = cursor.fetchone()[0] or ""
    return comment.removeprefix(MARK) if comment.startswith(MARK) else None


def is_current(*, using: str = "default") -> bool:
    return installed_digest(using=using) == rendered()[1]


def install(*, using: str = "default", force: bool = False) -> bool:
    """Install the file's functions unless the installed copy is already this file (or
    always, with ``force``). Returns whether it installed. PostgreSQL only."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return False
    text, digest = rendered()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # Two processes migrating at once (two containers starting): one installs, the
        # other waits here, then finds the copy current.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('parley routing sql'))")
        if not force and installed_digest(using=using) == digest:
            return False
        # No parameters: the SQL goes as written (its LIKE patterns hold % signs).
        cursor.execute(text)
        cursor.execute(f"COMMENT ON FUNCTION {PICK} IS '{MARK}{digest}'")
    return True


def install_after_migrate(sender, *, using: str, plan=None, verbosity: int = 1, **kwargs) -> None:
    """post_migrate: install once the database is fully migrated.

    A flush (plan None: the test suite's, between tests) changes no schema. A partial or
    backward ``migrate`` leaves the schema the functions read incomplete: they are left
    alone until the database is fully migrated again."""
    connection = connections[using]
    if plan is None or connection.vendor != "postgresql":
        return
    out = kwargs.get("stdout") or sys.stdout
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        if verbosity >= 1:
            out.write(
                "  Routing SQL not installed: unapplied migrations remain "
                "(migrate fully, or run install_routing_sql).\n"
            )
        return
    if install(using=using) and verbosity >= 1:
        out.write(f"  Installed the routing SQL ({SQL_FILE.name}).\n")
