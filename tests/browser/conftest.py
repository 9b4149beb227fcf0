"""Fixtures for the browser tier: the real ASGI app served by daphne, and Debian's Chromium.

pytest-django's ``live_server`` is WSGI only and cannot serve websockets, so the app runs
in a daphne subprocess pointed at the test's own database. The test must use
``transactional_db`` so that the rows it creates are committed and visible to daphne.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection, connections

from config.embedded import die_with_parent
from config.server import daphne_command

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PARLEY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] or "postgres"
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class AsgiServer:
    """config.asgi served by daphne in a subprocess; can be stopped and started again on
    the same port (to play a server restart or a network cut)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                daphne_command("127.0.0.1", self.port),  # as runparley
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + 40
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"daphne exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"daphne did not answer /healthz:\n{self.log()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server (a test overrides it by parametrizing)."""
    return {}


@pytest.fixture
def asgi_server(transactional_db, tmp_path, server_env):
    """The real ASGI app on a free port, sharing the test's database; yields AsgiServer."""
    if connection.vendor != "postgresql":
        pytest.skip("the browser tier shares its database with a daphne process: needs PostgreSQL")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "DEBUG": "true",  # static files from the finders, reloaded on change
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
        # Redis pub/sub channels ignore the database number, so parallel runs on one Redis
        # would hear each other's "agents" group; the list-based layer stays in our db.
        "CHANNEL_LAYER_BACKEND": os.environ.get("PARLEY_E2E_CHANNEL_LAYER", "core"),
        **server_env,
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the server runs as in production
    server = AsgiServer(env, tmp_path / "daphne.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()  # before transactional_db flushes the tables
        if "Traceback" in server.log():
            print(f"daphne log ({server.log_path}):\n{server.log()}")


@pytest.fixture
def browser():
    """Chromium for one test. Not session-wide: Playwright's sync API keeps an event loop
    running in this thread while it is started, which would break the async tests that
    run after the browser tier."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (set PARLEY_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # While Playwright runs, this thread counts as async to asgiref, so the test's ORM
        # calls got a connection of their own: close it, or the test database cannot be
        # dropped at the end of the session ("being accessed by other users").
        connections.close_all()
