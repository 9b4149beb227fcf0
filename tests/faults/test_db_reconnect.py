"""After a database outage the pool reconnects within RECONNECT_DELAY_MAX of the database's
return (config/postgresql/base.py): psycopg_pool's doubling delay made the first attempt
after a 40 s outage come 23 s late, every request failing meanwhile (a fault probe)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

import config.postgresql.base  # noqa: F401  (the cap is installed on import)
from tests.faults.conftest import PORT_BASE, _free_port

pytestmark = [pytest.mark.live, pytest.mark.postgres, pytest.mark.django_db]
PROXY = Path(__file__).resolve().parents[2] / "bench" / "tcp_proxy.py"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_the_pool_is_back_soon_after_the_database(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's pool")
    port = _free_port(PORT_BASE + 85)
    params = {**connection.get_connection_params(), "host": "127.0.0.1", "port": port}
    params.pop("cursor_factory", None)
    pool = ConnectionPool(kwargs={**params, "connect_timeout": 2}, min_size=1, max_size=1,
                          open=False, reconnect_timeout=120)  # fmt: skip
    pool.open(wait=False)  # the database is down: nothing listens on the port
    proxy = None
    try:
        # Attempts at about 1, 3, 7 and 15 s with the doubling delay, the next at 31 s: up
        # 16 s, the database waited about 15 s for it; capped, 2 s at most.
        time.sleep(16)
        target = int(connection.settings_dict["PORT"] or 5432)
        proxy = subprocess.Popen([sys.executable, str(PROXY), "--listen", str(port),
                                  "--to", str(target)])  # fmt: skip
        deadline = time.monotonic() + 10
        while not _listening(port):
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.05)
        back = time.monotonic()
        with pool.connection(timeout=20) as conn:
            conn.execute("SELECT 1")
        waited = time.monotonic() - back
        # Within the cap (2 s) and a loaded machine's slack; uncapped about 15 s.
        assert waited < 8.0, waited
    finally:
        pool.close()
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=10)
