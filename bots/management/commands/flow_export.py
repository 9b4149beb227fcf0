"""Export a flow as a JSON file: `manage.py flow_export diy-marketplace -o flow.json [--flow-version N]`."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from bots.models import Flow
from bots.services import flow_export
from chat.exceptions import ParleyError


class Command(BaseCommand):
    help = "Export a bot flow (its draft, or a published version) as a JSON document."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The flow's slug.")
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")
        parser.add_argument(
            "--flow-version",
            dest="flow_version",
            type=int,
            help="A published version (default: draft).",
        )

    def handle(self, *args, **opts):
        flow = Flow.objects.select_related("published_version").filter(slug=opts["slug"]).first()
        if flow is None:
            raise CommandError(f"No flow {opts['slug']!r}.")
        try:
            document = flow_export(flow=flow, version=opts["flow_version"])
        except ParleyError as exc:
            raise CommandError(exc.message) from exc
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        if opts["output"]:
            with open(opts["output"], "w", encoding="utf-8") as fh:
                fh.write(text)
            self.stdout.write(f"Exported {flow.slug} to {opts['output']}.")
        else:
            self.stdout.write(text, ending="")
