"""Import a flow from a JSON file: `manage.py flow_import flow.json --publish`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from bots.services import FlowInvalid, flow_document_load, flow_import
from chat.exceptions import ParleyError
from chat.models import Site


class Command(BaseCommand):
    help = "Import a bot flow document (creates it, or replaces the draft of the same slug)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A file written by flow_export or the API.")
        parser.add_argument("--publish", action="store_true", help="Also publish it.")
        parser.add_argument("--site", metavar="SITE_KEY", help="Make it this site's default flow.")

    @transaction.atomic
    def handle(self, *args, **opts):
        site = None
        if opts["site"]:
            site = Site.objects.filter(key=opts["site"]).first()
            if site is None:
                raise CommandError(f"No site with key {opts['site']!r}.")
        try:
            document = flow_document_load(path=opts["path"])
            flow, created = flow_import(
                document=document, publish=opts["publish"], published_by="flow_import"
            )
        except FlowInvalid as exc:
            lines = "\n".join(f"  {e['path'] or 'graph'}: {e['message']}" for e in exc.errors)
            raise CommandError(f"The flow is invalid:\n{lines}") from exc
        except (ParleyError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        if site is not None:
            site.default_flow = flow
            site.save(update_fields=["default_flow"])
        what = "Created" if created else "Updated"
        published = (
            f", published as v{flow.published_version.number}" if opts["publish"] else " (draft)"
        )
        where = f"; default flow of {site.key}" if site else ""
        self.stdout.write(f"{what} {flow.slug}{published}{where}.")
