"""Install the send's PostgreSQL function (chat/sql/message_send.sql)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from chat.dbfunctions import SEND_SQL


class Command(BaseCommand):
    help = (
        "Install (CREATE OR REPLACE) the send's PostgreSQL function from "
        "chat/sql/message_send.sql. migrate does this too; run it where migrate does not "
        "run. Safe to run at any time, while Parley serves."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit 1 unless the installed function is this release's",
        )

    def handle(self, *args, database: str, check: bool, **opts):
        if connections[database].vendor != "postgresql":
            self.stdout.write("Nothing to install: only PostgreSQL runs the chat SQL.")
            return
        digest = SEND_SQL.rendered()[1]
        if check:
            installed = SEND_SQL.installed_digest(using=database)
            if installed != digest:
                raise CommandError(
                    f"The chat SQL is {'missing' if installed is None else 'out of date'} "
                    f"(installed {installed}, this release {digest}): run install_chat_sql."
                )
            self.stdout.write(f"The chat SQL is current ({digest}).")
            return
        SEND_SQL.install(using=database, force=True)
        self.stdout.write(self.style.SUCCESS(f"Installed the chat SQL ({digest})."))
