"""With the database refusing connections, callers get clear, retryable errors: a 503 in
the API's error shape, a status page that says `down`, /healthz 503, and a socket
handshake refused cleanly. A fault probe got 500s (an HTML page for /status/)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.core import signing
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from chat.selectors import VISITOR_TOKEN_SALT
from config.embedded import die_with_parent
from config.server import daphne_command
from tests.faults.conftest import PORT_BASE, _free_port

pytestmark = pytest.mark.live


def _closed_port() -> int:
    with socket.socket() as s:  # bound and closed: nothing listens there
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, *, data: bytes | None = None, headers=None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def server_without_database(tmp_path):
    port = _free_port(PORT_BASE + 80)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{_closed_port()}/nowhere",
        "DATABASE_POOL_TIMEOUT": "2",
        "DEBUG": "false",
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "ERROR",
        "CHANNEL_LAYER_BACKEND": "core",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with (tmp_path / "daphne.log").open("wb") as log:
        proc = subprocess.Popen(daphne_command("127.0.0.1", port), env=env, stdout=log,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:  # up when it answers anything at all (its /healthz is a 503)
            try:
                _request(f"{url}/healthz")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail((tmp_path / "daphne.log").read_text())
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log = (tmp_path / "daphne.log").read_text()
        assert "invalid close code" not in log and " 500 " not in log, log[-3000:]


def test_the_api_status_page_health_and_sockets_say_unavailable(server_without_database):
    url = server_without_database
    status, headers, body = _request(
        f"{url}/api/v1/widget/sessions/",
        data=json.dumps({"site_key": "site-key-that-needs-the-database"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 503, body
    assert json.loads(body)["error"]["code"] == "unavailable" and headers["Retry-After"] == "5"

    status, _, body = _request(f"{url}/status/?format=json")
    assert status == 200, body
    page = json.loads(body)
    assert page["state"] == "down" and page["incidents"] == []

    assert _request(f"{url}/healthz")[0] == 503

    # A well-signed token needs the database: the socket is told why and closed with 4503
    # ("try again later": clients back off and reconnect), never a handshake's 500.
    token = signing.dumps({"c": 1, "s": 1, "g": 0}, salt=VISITOR_TOKEN_SALT)
    port = url.rsplit(":", 1)[1]
    with connect(f"ws://127.0.0.1:{port}/ws/widget/?token={token}",
                 origin="http://127.0.0.1", open_timeout=30) as ws:  # fmt: skip
        frame = json.loads(ws.recv(timeout=30))
        assert (frame["type"], frame["code"]) == ("error", "unavailable")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd.code == 4503
