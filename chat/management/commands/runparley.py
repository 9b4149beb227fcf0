"""Run all of Parley in one command: (embedded Redis), migrate, demo data (embedded trial
only, unless asked), the ASGI server(s), a Celery worker and beat. A child that dies is
restarted (config/supervisor.py); Ctrl-C stops everything it started, in reverse order."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import embedded
from config.balancer import start_haproxy
from config.proxies import parse_networks
from config.server import celery_beat_command, celery_worker_command, daphne_command
from config.static import collected_is_stale
from config.supervisor import Supervisor


def production_mode() -> bool:
    """PostgreSQL configured, or debug off: anything but a laptop's embedded trial."""
    return not settings.EMBEDDED_DATABASE or not settings.DEBUG


def demo_wanted(*, demo: bool | None, no_demo: bool) -> bool:
    """The demo users' passwords are in the README: in production mode they are loaded
    only when asked for (--demo, or LOAD_DEMO=true)."""
    if no_demo:
        return False
    if demo:
        return True
    if settings.LOAD_DEMO is not None:
        return settings.LOAD_DEMO
    return not production_mode()


class Command(BaseCommand):
    help = "Run Parley: server, worker and beat (and the embedded Redis when REDIS_URL is unset)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        demo = parser.add_mutually_exclusive_group()
        demo.add_argument(
            "--demo", action="store_true", default=None,
            help="Load the demo data (users with published passwords) even in production mode.",
        )  # fmt: skip
        demo.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument(
            "--setup-only", action="store_true",
            help="Migrate (and load the demo data if wanted), then exit: a deployment's step.",
        )  # fmt: skip
        parser.add_argument("--no-worker", action="store_true", help="Do not start Celery.")
        parser.add_argument(
            "--concurrency", type=int, default=2,
            help="Processes inside each Celery worker (its --concurrency).",
        )  # fmt: skip
        parser.add_argument(
            "--processes", type=int, default=1,
            help="ASGI processes, on ports PORT, PORT+1, … (put a balancer in front: deploy/).",
        )  # fmt: skip
        parser.add_argument(
            "--workers", type=int, default=1,
            help="Celery workers (each with --concurrency processes).",
        )  # fmt: skip
        parser.add_argument(
            "--balancer-port", type=int, default=0,
            help="Start HAProxy (deploy/install.sh) on this port in front of the processes.",
        )  # fmt: skip

    def handle(self, *args, **opts):
        supervisor = Supervisor(self.stdout.write)

        def shutdown() -> None:
            if supervisor.stopping:
                return
            self.stdout.write("\nStopping Parley…")
            supervisor.stop()

        signal.signal(signal.SIGTERM, lambda *a: (shutdown(), sys.exit(0)))
        try:
            if settings.EMBEDDED_REDIS and not opts["setup_only"]:
                supervisor.add(
                    "redis-server (embedded)",
                    lambda: embedded.start_redis(settings.EMBEDDED_REDIS_SOCKET, settings.DATA_DIR),
                )
                self.stdout.write(f"Embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}")
            call_command("migrate", interactive=False, verbosity=0)
            if not settings.WHITENOISE_USE_FINDERS and collected_is_stale():
                # Production mode serves only what collectstatic wrote: without it the
                # widget's loader was a 404 and the demo page had no chat at all.
                self.stdout.write("Collecting static files (after an install or upgrade)…")
                call_command("collectstatic", interactive=False, verbosity=0)
            demo = demo_wanted(demo=opts["demo"], no_demo=opts["no_demo"])
            if demo:
                call_command("loaddemo")
                self.stdout.write("Demo data loaded (users with published passwords).")
            if opts["setup_only"]:
                return
            if settings.PROMETHEUS_MULTIPROC_DIR:
                # The children's metric files: a new run starts from zero (a dead
                # process's live gauges would otherwise count forever). Not for
                # --setup-only, which starts no children: the running processes' files
                # (deploy/'s parley-setup unit runs beside them) must stay.
                for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
                    path.unlink(missing_ok=True)
            if opts["balancer_port"]:
                # HAProxy on this host is the peer of every proxied request: its
                # X-Forwarded-For must be believed, or every customer shares 127.0.0.1 (one
                # throttle, one login lockout for all). The children read it at their start.
                os.environ["TRUSTED_PROXIES"] = ",".join(
                    trusted_with_loopback(settings.TRUSTED_PROXIES)
                )
            ports = [opts["port"] + i for i in range(max(1, opts["processes"]))]
            for i, port in enumerate(ports):
                name = "daphne" if len(ports) == 1 else f"daphne {i + 1} (port {port})"
                supervisor.add_command(name, daphne_command(opts["host"], port))
            if opts["balancer_port"]:
                listen = f"{opts['host']}:{opts['balancer_port']}"
                backends = [(opts["host"], port) for port in ports]
                cfg = settings.DATA_DIR / "haproxy.cfg"
                supervisor.add("haproxy", lambda: start_haproxy(cfg, listen, backends))
            if not opts["no_worker"]:
                workers = max(1, opts["workers"])
                for i in range(workers):
                    name = "celery worker" if workers == 1 else f"celery worker {i + 1}"
                    args = celery_worker_command(opts["concurrency"])
                    if workers > 1:
                        args += ["--hostname", f"worker{i + 1}@%h"]
                    supervisor.add_command(name, args)
                supervisor.add_command("celery beat", celery_beat_command())
            front = [opts["balancer_port"]] if opts["balancer_port"] else []
            self.stdout.write(self.style.SUCCESS(banner(opts["host"], front + ports, demo=demo)))
            supervisor.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            shutdown()


def trusted_with_loopback(trusted: list[str]) -> list[str]:
    """TRUSTED_PROXIES plus this host's loopback addresses, where runparley's HAProxy
    connects from, unless already covered."""
    networks = parse_networks(trusted)
    more = [a for a in ("127.0.0.1", "::1")
            if not any(ipaddress.ip_address(a) in n for n in networks)]  # fmt: skip
    return [*trusted, *more]


def banner(host: str, ports: list[int], *, demo: bool) -> str:
    base = f"http://{host}:{ports[0]}"
    agents = "(demo agents: alice / bob, password parley-demo)" if demo else ""
    admin = "(demo admin: admin / parley-admin)" if demo else "(manage.py createsuperuser)"
    more = ""
    if len(ports) > 1:
        more = f"  Ports          {', '.join(map(str, ports))} (the balancer first, if any)\n"
    return (
        "\nParley is running:\n"
        f"  Agent console  {base}/console/   {agents}\n"
        f"  Demo page      {base}/demo/      (the widget, as a customer sees it)\n"
        f"  Admin          {base}/admin/     {admin}\n"
        f"  API docs       {base}/api/docs/\n"
        f"  Health         {base}/healthz   (status page {base}/status/)\n"
        f"  Floor          {base}/supervision/   (staff: live dashboard, reports)\n"
        f"{more}"
        "A child that dies is restarted. Press Ctrl-C to stop.\n"
    )
