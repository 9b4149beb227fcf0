"""Install the send's PostgreSQL function (chat/sql/message_send.sql)."""

from __future__ import annotations

from chat.dbfunctions import SEND_SQL
from chat.management.sql_command import InstallSqlCommand


class Command(InstallSqlCommand):
    sql = SEND_SQL
    help = (
        "Install (CREATE OR REPLACE) the send's PostgreSQL function from "
        "chat/sql/message_send.sql. migrate does this too; run it where migrate does not "
        "run. Safe to run at any time, while Parley serves."
    )
