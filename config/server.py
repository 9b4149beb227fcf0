"""How Parley's ASGI server is started: one command line for `runparley`, the live tests
and the benchmarks, so they all run daphne as a deployment does (docs/operations.md)."""

from __future__ import annotations

import sys

from django.conf import settings

APPLICATION = "config.asgi:application"


def daphne_command(host: str, port: int) -> list[str]:
    # daphne's own frame limit (1 MiB by default) sits above Parley's (WS_MAX_FRAME_BYTES),
    # so an oversized frame reaches the consumer and gets `too_large` on an open socket;
    # at daphne's limit the connection is dropped (1006) and the client would retry it.
    limit = str(settings.PARLEY["WS_SERVER_MAX_BYTES"])
    # A mass close (thousands of sockets at once) queues their layer unsubscribes for
    # seconds; daphne kills handlers still running after this long (chat/layer_exit.py).
    # config.daphne_main: daphne without Twisted's own multipart parsing (see there).
    args = [sys.executable, "-m", "config.daphne_main", "-b", host, "-p", str(port),
            "--websocket-max-message-size", limit, "--websocket-max-frame-size", limit,
            "--application-close-timeout", "60"]  # fmt: skip
    # No --proxy-headers: daphne would believe X-Forwarded-For from anyone. The app believes
    # it only from TRUSTED_PROXIES (config/proxies.py).
    return [*args, APPLICATION]
