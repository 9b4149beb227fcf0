"""The router's PostgreSQL functions (routing/sql/route_pick.sql): installing them.

Installed by the core's mechanism for SQL files (chat/dbfunctions.py): after every
``migrate`` that leaves the database fully migrated (a post_migrate receiver,
routing.apps) and by ``manage.py install_routing_sql``; idempotent, and cheap when the
installed copy's digest is this file's.
"""

from __future__ import annotations

from pathlib import Path

from chat.dbfunctions import SqlFile

SQL_FILE = Path(__file__).resolve().parent / "sql" / "route_pick.sql"
PICK = (
    "parley_route_pick(bigint, timestamptz, boolean, double precision, integer, boolean, "
    "double precision)"
)
MARK = "parley routing sql "

ROUTING_SQL = SqlFile(
    path=SQL_FILE, signature=PICK, mark=MARK, label="routing SQL", command="install_routing_sql"
)
rendered = ROUTING_SQL.rendered
installed_digest = ROUTING_SQL.installed_digest
is_current = ROUTING_SQL.is_current
install = ROUTING_SQL.install
install_after_migrate = ROUTING_SQL.install_after_migrate
