"""The production topology on one machine: `runparley --processes 2 --workers 2
--balancer-port P` puts HAProxy (Debian's) in front of two ASGI processes; sockets spread
over both, and when one process is killed its clients reconnect through the balancer to
the other and carry on."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import websockets

from config.balancer import haproxy_config
from config.embedded import die_with_parent
from tests.faults.conftest import PORT_BASE, _free_port
from tests.faults.test_processes_survive import _children, _health

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.live


def _established(port: int) -> int:
    """Server-side TCP connections established on this local port."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def test_the_haproxy_config_lists_every_process_and_checks_health():
    text = haproxy_config("127.0.0.1:8000", [("127.0.0.1", 8001), ("127.0.0.1", 8002)])
    assert "bind 127.0.0.1:8000" in text
    assert "server asgi1 127.0.0.1:8001 check" in text
    assert "server asgi2 127.0.0.1:8002 check" in text
    assert "option httpchk GET /healthz" in text and "balance leastconn" in text
    # Fail open: the same processes, unchecked, as backups for when all checks fail.
    assert "server asgi1-fallback 127.0.0.1:8001 backup" in text
    assert "server asgi2-fallback 127.0.0.1:8002 backup" in text
    assert "option allbackups" in text
    assert "slowstart 10s" in text  # a restarted process is not handed a whole storm
    assert "{" not in text.replace("{ ssl_fc }", "")  # every placeholder filled


async def _widget(url: str, token: str) -> websockets.ClientConnection:
    """Connect as Parley's client does: a refused attempt (HAProxy's 502 while a process
    is down or too busy to answer its health check) is retried after a back-off."""
    for attempt in range(6):
        try:
            ws = await websockets.connect(f"{url}/ws/widget/?token={token}", open_timeout=20)
            break
        except websockets.InvalidStatus:
            if attempt == 5:
                raise
            await asyncio.sleep(0.5 * 2**attempt)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert hello["type"] == "hello"
    return ws


def test_two_processes_behind_haproxy_share_sockets_and_survive_a_kill(tmp_path):
    from tests.test_embedded import _get_json, embedded_env

    if not (Path("/usr/sbin/haproxy").exists()):
        pytest.skip("haproxy is not installed (deploy/install.sh)")
    front = _free_port(PORT_BASE + 12)
    first = _free_port(front + 1)
    second = first + 1
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runparley", "--port", str(first), "--processes", "2",
         "--balancer-port", str(front), "--workers", "2", "--concurrency", "1"],
        cwd=ROOT, env=embedded_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    base = f"http://127.0.0.1:{front}"

    async def scenario() -> None:
        for _ in range(180):
            assert runner.poll() is None
            if all((_health(f"http://127.0.0.1:{p}") or {}).get("status") == "up"
                   for p in (front, first, second)):  # fmt: skip
                break
            await asyncio.sleep(0.5)
        session = _get_json(f"{base}/api/v1/widget/sessions/", {"site_key": "demo-diy-shop"})
        url = f"ws://127.0.0.1:{front}"
        sockets = [await _widget(url, session["token"]) for _ in range(6)]
        # Both hold some. A process that has just come up ramps up over HAProxy's
        # slowstart, so the first few may all go to the other: more visitors (each has
        # its own cap of sockets) until both do.
        while len(sockets) < 40 and not (_established(first) and _established(second)):
            other = _get_json(f"{base}/api/v1/widget/sessions/", {"site_key": "demo-diy-shop"})
            sockets.append(await _widget(url, other["token"]))
            await asyncio.sleep(0.25)
        assert _established(first) >= 1 and _established(second) >= 1
        await sockets[0].send(json.dumps({"type": "conversation.start", "id": "s"}))
        while json.loads(await sockets[0].recv())["type"] != "conversation.started":
            pass

        victim = next(p for p, cmd in _children(runner.pid).items() if f"port={first}:" in cmd)
        os.kill(victim, signal.SIGKILL)
        # Its clients reconnect through the balancer (to the survivor, or the restarted
        # process) and resume; a send then goes through.
        again = await _widget(url, session["token"])
        await again.send(json.dumps({"type": "conversation.start", "id": "s2"}))
        started = None
        while started is None:
            frame = json.loads(await asyncio.wait_for(again.recv(), 20))
            if frame["type"] == "conversation.started":
                started = frame
        assert started["created"] is False  # the same open conversation, not a new one
        await again.send(json.dumps({"type": "message.send", "id": "m",
                                     "conversation": started["conversation"]["id"],
                                     "body": "still here", "client_msg_id": "k1"}))  # fmt: skip
        while json.loads(await asyncio.wait_for(again.recv(), 20))["type"] != "message.accepted":
            pass
        for ws in [*sockets, again]:
            await ws.close()
        # The runner notices the death and starts the process again on its port.
        for _ in range(60):
            if any(f"port={first}:" in cmd and pid != victim
                   for pid, cmd in _children(runner.pid).items()):  # fmt: skip
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError("the killed process was not restarted within 30 s")

    try:
        asyncio.run(scenario())
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            out, _ = runner.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
            out, _ = runner.communicate()
    # The runner noticed the death (and restarts it, after its pause).
    assert f"daphne 1 (port {first}) exited with code -9" in out, out[-3000:]


def test_the_balancer_fails_open_when_every_process_is_too_busy_for_its_check(tmp_path):
    """Processes that answer their sockets but not /healthz within its 5 s (a storm's
    load) all count as down; HAProxy still sends new connections to them (the unchecked
    backups) instead of answering 503 to everyone."""
    import http.server
    import threading
    import time
    import urllib.request

    from config.balancer import haproxy_binary

    if not Path("/usr/sbin/haproxy").exists():
        pytest.skip("haproxy is not installed (deploy/install.sh)")
    release = threading.Event()

    class Busy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/healthz":
                release.wait(20)  # never answers the check in time
            body = b"served"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    front = _free_port(PORT_BASE + 40)
    backends = [_free_port(front + 1)]
    backends.append(_free_port(backends[0] + 1))
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", p), Busy) for p in backends]
    for server in servers:
        server.daemon_threads = True
        server.handle_error = lambda *args: None  # HAProxy drops the checks it gave up on
        threading.Thread(target=server.serve_forever, daemon=True).start()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(f"127.0.0.1:{front}", [("127.0.0.1", p) for p in backends]))
    proxy = subprocess.Popen(
        [haproxy_binary(), "-db", "-f", str(config)], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    try:
        # Both checks time out (5 s) twice: both primaries are down within about 12 s.
        down_by = time.monotonic() + 40
        log = ""
        while " 0 active " not in log and time.monotonic() < down_by:
            log += proxy.stdout.readline()
        assert " 0 active " in log, log  # "0 active and 2 backup servers left"
        with urllib.request.urlopen(f"http://127.0.0.1:{front}/page", timeout=10) as reply:
            assert reply.status == 200 and reply.read() == b"served"
    finally:
        release.set()
        proxy.terminate()
        proxy.wait(10)
        for server in servers:
            server.shutdown()
