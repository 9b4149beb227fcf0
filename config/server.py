"""How Parley's processes are started: one command line each for `runparley`, the live
tests and the benchmarks, so they all run daphne and Celery as a deployment does
(docs/operations.md, deploy/)."""

from __future__ import annotations

import sys

from django.conf import settings

APPLICATION = "config.asgi:application"
# Connects waiting to be accepted (the kernel caps it at net.core.somaxconn, 4096 here).
LISTEN_BACKLOG = 2048


def daphne_command(host: str, port: int) -> list[str]:
    # daphne's own frame limit (1 MiB by default) sits above Parley's (WS_MAX_FRAME_BYTES),
    # so an oversized frame reaches the consumer and gets `too_large` on an open socket;
    # at daphne's limit the connection is dropped (1006) and the client would retry it.
    limit = str(settings.PARLEY["WS_SERVER_MAX_BYTES"])
    # A mass close (thousands of sockets at once) queues their layer unsubscribes for
    # seconds; daphne kills handlers still running after this long (chat/layer_exit.py).
    # config.daphne_main: daphne without Twisted's own multipart parsing (see there).
    # The listen backlog is LISTEN_BACKLOG, not Twisted's 50 (daphne's -b/-p cannot set it):
    # when a process dies its thousands of sockets reconnect to the others at once, and
    # connects past a full backlog are dropped and retried by TCP 1, 3 and 7 s later.
    interface = host.strip("[]").replace(":", r"\:")  # as daphne's -b escapes it
    endpoint = f"tcp:port={int(port)}:interface={interface}"
    args = [sys.executable, "-m", "config.daphne_main", "-e", f"{endpoint}:backlog={LISTEN_BACKLOG}",
            "--websocket-max-message-size", limit, "--websocket-max-frame-size", limit,
            "--application-close-timeout", "60",
            "--websocket_connect_timeout", str(settings.PARLEY["WS_CONNECT_TIMEOUT"]),
            # No access log: daphne's is Apache-style lines on stdout with the peer's
            # address, beside Parley's JSON logs, which never carry one (operations.md).
            "--verbosity", "0"]  # fmt: skip
    # No --proxy-headers: daphne would believe X-Forwarded-For from anyone. The app believes
    # it only from TRUSTED_PROXIES (config/proxies.py).
    return [*args, APPLICATION]


# The worker without gossip, mingle and Celery's event heartbeat: Parley uses none of them
# (its own beat task is the workers' sign of life, /healthz), and on a Redis outage their
# channels failed to close and reopen ("'NoneType' object has no attribute 'hostname'" in
# kombu), which killed the worker for good. deploy/ runs it with the same flags.
WORKER_FLAGS = ["--without-gossip", "--without-mingle", "--without-heartbeat"]


def celery_worker_command(concurrency: int, loglevel: str = "warning") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", loglevel,
            "--concurrency", str(concurrency), *WORKER_FLAGS]  # fmt: skip


def celery_beat_command(loglevel: str = "warning") -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", loglevel]
