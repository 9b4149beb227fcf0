"""Install the router's PostgreSQL functions (routing/sql/route_pick.sql)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from routing import dbfunctions


class Command(BaseCommand):
    help = (
        "Install (CREATE OR REPLACE) the router's PostgreSQL functions from "
        "routing/sql/route_pick.sql. migrate does this too; run it where migrate does not "
        "run. Safe to run at any time, while Parley serves."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit 1 unless the installed functions are this release's",
        )

    def handle(self, *args, database: str, check: bool, **opts):
        if connections[database].vendor != "postgresql":
            self.stdout.write("Nothing to install: only PostgreSQL runs the routing SQL.")
            return
        digest = dbfunctions.rendered()[1]
        if check:
            installed = dbfunctions.installed_digest(using=database)
            if installed != digest:
                raise CommandError(
                    f"The routing SQL is {'missing' if installed is None else 'out of date'} "
                    f"(installed {installed}, this release {digest}): run install_routing_sql."
                )
            self.stdout.write(f"The routing SQL is current ({digest}).")
            return
        dbfunctions.install(using=database, force=True)
        self.stdout.write(self.style.SUCCESS(f"Installed the routing SQL ({digest})."))
