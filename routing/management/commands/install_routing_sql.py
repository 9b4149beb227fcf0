"""Install the router's PostgreSQL functions (routing/sql/route_pick.sql)."""

from __future__ import annotations

from chat.management.sql_command import InstallSqlCommand
from routing.dbfunctions import ROUTING_SQL


class Command(InstallSqlCommand):
    sql = ROUTING_SQL
    help = (
        "Install (CREATE OR REPLACE) the router's PostgreSQL functions from "
        "routing/sql/route_pick.sql. migrate does this too; run it where migrate does not "
        "run. Safe to run at any time, while Parley serves."
    )
