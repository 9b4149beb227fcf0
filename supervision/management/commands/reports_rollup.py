"""Backfill the reports' rollups: `manage.py reports_rollup --days 90` (or --from/--to)."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from supervision import rollups


class Command(BaseCommand):
    help = "Rebuild the reports' daily rollups for a range of days (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=2, help="Today and the days before.")
        parser.add_argument("--from", dest="first", help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="last", help="Last day, YYYY-MM-DD (default today).")
        parser.add_argument("--step", type=int, default=7, help="Days rebuilt per transaction.")

    def handle(self, *args, **opts):
        today = timezone.now().astimezone(dt.UTC).date()
        try:
            last = dt.date.fromisoformat(opts["last"]) if opts["last"] else today
            first = (
                dt.date.fromisoformat(opts["first"])
                if opts["first"]
                else last - dt.timedelta(days=max(1, opts["days"]) - 1)
            )
        except ValueError as exc:
            raise CommandError(f"Dates are YYYY-MM-DD: {exc}") from exc
        if first > last:
            raise CommandError("--from is after --to.")
        started = time.perf_counter()
        rows = 0
        day = first
        while day <= last:
            chunk_end = min(last, day + dt.timedelta(days=max(1, opts["step"]) - 1))
            rows += rollups.rollup_days(first=day, last=chunk_end)
            day = chunk_end + dt.timedelta(days=1)
        self.stdout.write(
            f"Rolled up {first} to {last}: {rows} rows in {time.perf_counter() - started:.2f} s"
        )
