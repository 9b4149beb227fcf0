"""The one management command that installs a SqlFile (chat/dbfunctions.py): routing's
`install_routing_sql` and the core's `install_chat_sql` are this with their file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from chat.dbfunctions import SqlFile


class InstallSqlCommand(BaseCommand):
    sql: SqlFile  # set by each command

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit 1 unless the installed SQL is this release's",
        )

    def handle(self, *args, database: str, check: bool, **opts):
        label = self.sql.label
        if connections[database].vendor != "postgresql":
            self.stdout.write(f"Nothing to install: only PostgreSQL runs the {label}.")
            return
        digest = self.sql.rendered()[1]
        if check:
            installed = self.sql.installed_digest(using=database)
            if installed != digest:
                raise CommandError(
                    f"The {label} is {'missing' if installed is None else 'out of date'} "
                    f"(installed {installed}, this release {digest}): run {self.sql.command}."
                )
            self.stdout.write(f"The {label} is current ({digest}).")
            return
        self.sql.install(using=database, force=True)
        self.stdout.write(self.style.SUCCESS(f"Installed the {label} ({digest})."))
