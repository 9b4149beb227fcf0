"""Print HAProxy's configuration for a systemd host, from the template runparley uses
(deploy/haproxy/parley.cfg.template): one checked server line per ASGI process, and the
same again as fail-open backups."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from config.balancer import haproxy_config


def parse_backends(value: str) -> list[tuple[str, int]]:
    backends = []
    for item in value.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise CommandError(f"--backends: {item.strip()!r} is not HOST:PORT")
        backends.append((host, int(port)))
    return backends


class Command(BaseCommand):
    help = "Print HAProxy's configuration for Parley's ASGI processes (deploy/haproxy/)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--listen", default=":80", help="HAProxy's bind address (:80).")
        parser.add_argument(
            "--backends",
            default="127.0.0.1:8001,127.0.0.1:8002",
            help="The parley-asgi@PORT instances, HOST:PORT,HOST:PORT,…",
        )

    def handle(self, *args, **opts) -> None:
        self.stdout.write(haproxy_config(opts["listen"], parse_backends(opts["backends"])))
