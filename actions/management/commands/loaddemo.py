"""Demo data: an admin, two agents, a queue and a site with a demo page. Idempotent."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from agents.models import AgentProfile
from bots.demo import demo_flow_setup
from chat.models import Site
from routing.models import Queue

DEMO_SITE_KEY = "demo-diy-shop"


class Command(BaseCommand):
    help = "Load Parley's demo data (safe to run twice)."

    @transaction.atomic
    def handle(self, *args, **opts):
        User = get_user_model()
        queue, _ = Queue.objects.get_or_create(name="General")
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "parley-admin")
        for username, first, last, langs in [
            ("alice", "Alice", "Martin", ["en", "fr"]),
            ("bob", "Bob", "Rossi", ["en", "it"]),
        ]:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username,
                    f"{username}@example.com",
                    "parley-demo",
                    first_name=first,
                    last_name=last,
                )
            profile, _ = AgentProfile.objects.get_or_create(
                user=user, defaults={"display_name": first, "languages": langs}
            )
            profile.queues.add(queue)
        site, _created = Site.objects.get_or_create(
            key=DEMO_SITE_KEY, defaults={"name": "Demo DIY shop", "default_queue": queue}
        )
        # The DIY-marketplace bot flow as the demo site's default, staffed by alice and bob.
        demo_flow_setup(site=site, agent_usernames=["alice", "bob"])
        self.stdout.write(f"Demo data ready (site key {site.key}).")
