"""Run all of Parley in one command: (embedded Redis), migrate, demo data, the ASGI server,
a Celery worker and beat. Ctrl-C stops everything it started, in reverse order."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import embedded
from config.server import daphne_command


class Command(BaseCommand):
    help = "Run Parley: server, worker and beat (and the embedded Redis when REDIS_URL is unset)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start Celery.")
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes.")

    def handle(self, *args, **opts):
        procs: list[tuple[str, subprocess.Popen]] = []
        stopping = False

        def shutdown(signum=None, frame=None):
            nonlocal stopping
            if stopping:
                return
            stopping = True
            self.stdout.write("\nStopping Parley…")
            # Reverse order: the web server and workers go before the Redis they use.
            for name, proc in reversed(procs):
                embedded.stop(proc)
                self.stdout.write(f"  stopped {name}")

        signal.signal(signal.SIGTERM, lambda *a: (shutdown(), sys.exit(0)))
        try:
            if settings.EMBEDDED_REDIS:
                proc = embedded.start_redis(settings.EMBEDDED_REDIS_SOCKET, settings.DATA_DIR)
                procs.append(("redis-server (embedded)", proc))
                self.stdout.write(f"Embedded Redis on {settings.EMBEDDED_REDIS_SOCKET}")
            if settings.PROMETHEUS_MULTIPROC_DIR:
                # The children's metric files: a new run starts from zero (a dead
                # process's live gauges would otherwise count forever).
                for path in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
                    path.unlink(missing_ok=True)
            call_command("migrate", interactive=False, verbosity=0)
            if not opts["no_demo"]:
                call_command("loaddemo")
            py = sys.executable
            children = [("daphne", daphne_command(opts["host"], opts["port"]))]
            if not opts["no_worker"]:
                children += [
                    ("celery worker", [py, "-m", "celery", "-A", "config", "worker", "-l", "warning",
                                       "--concurrency", str(opts["concurrency"])]),
                    ("celery beat", [py, "-m", "celery", "-A", "config", "beat", "-l", "warning"]),
                ]  # fmt: skip
            for name, args in children:
                procs.append((name, subprocess.Popen(args, preexec_fn=embedded.die_with_parent)))
            base = f"http://{opts['host']}:{opts['port']}"
            self.stdout.write(
                self.style.SUCCESS(
                    "\nParley is running:\n"
                    f"  Agent console  {base}/console/   (demo agents: alice / bob, password parley-demo)\n"
                    f"  Demo page      {base}/demo/      (the widget, as a customer sees it)\n"
                    f"  Admin          {base}/admin/     (demo admin: admin / parley-admin)\n"
                    f"  API docs       {base}/api/docs/\n"
                    f"  Health         {base}/healthz   (status page {base}/status/)\n"
                    f"  Floor          {base}/supervision/   (staff: live dashboard, reports)\n"
                    "Press Ctrl-C to stop.\n"
                )
            )
            while True:
                for name, proc in procs:
                    if proc.poll() is not None:
                        raise RuntimeError(f"{name} exited with code {proc.returncode}")
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            shutdown()
