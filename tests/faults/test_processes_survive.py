"""Processes survive faults: a Celery worker outlives Redis outages under traffic (against a
Redis of the test's own), and `runparley` restarts a child that dies instead of exiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.cache.backends.redis import RedisCache

from chat.tasks import WORKER_HEARTBEAT_KEY
from config.celery import app
from config.embedded import die_with_parent
from config.server import celery_worker_command
from config.supervisor import Supervisor
from tests.faults.conftest import PORT_BASE, _free_port

ROOT = Path(__file__).resolve().parents[2]


def _worker_env(redis_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL",)}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
        REDIS_URL=redis_url,
        PARLEY_DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _heartbeat(cache: RedisCache) -> float:
    try:
        return float(cache.get(WORKER_HEARTBEAT_KEY) or 0)
    except Exception:
        return 0.0


def _send_heartbeat(url: str, transport_options: dict) -> bool:
    try:
        with app.connection_for_write(url) as conn:
            conn.transport_options.update(transport_options)
            app.send_task("chat.tasks.worker_heartbeat", connection=conn, retry=False)
        return True
    except Exception:
        return False


@pytest.mark.live
@pytest.mark.redis
def test_the_worker_survives_three_redis_outages_under_traffic(own_redis, tmp_path, settings):
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    cache = RedisCache(own_redis.url, {"KEY_PREFIX": settings.REDIS_KEY_PREFIX})
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        celery_worker_command(1, loglevel="info"), cwd=ROOT,
        env=_worker_env(own_redis.url, tmp_path), stdout=log, stderr=subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )  # fmt: skip

    def served_after(since: float, within: float = 90.0) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            _send_heartbeat(own_redis.url, options)
            if _heartbeat(cache) > since:
                return True
            time.sleep(0.5)
        return False

    try:
        assert served_after(0.0), (tmp_path / "worker.log").read_text()[-3000:]
        for _outage in range(3):
            for _ in range(20):  # traffic up to the moment Redis goes
                _send_heartbeat(own_redis.url, options)
            own_redis.stop()
            down_until = time.monotonic() + 4
            while time.monotonic() < down_until:
                _send_heartbeat(own_redis.url, options)  # fails: the broker is gone
                time.sleep(0.2)
            own_redis.start()
            back = time.time()
            cache = RedisCache(own_redis.url, {"KEY_PREFIX": settings.REDIS_KEY_PREFIX})
            assert served_after(back), (tmp_path / "worker.log").read_text()[-3000:]
        assert worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


# --- runparley's supervision ------------------------------------------------------------------
def test_a_child_that_keeps_dying_is_restarted_with_a_growing_pause():
    lines: list[str] = []
    supervisor = Supervisor(lines.append)
    child = supervisor.add_command("flaky", [sys.executable, "-c", "raise SystemExit(3)"])
    try:
        pauses = []
        deadline = time.monotonic() + 30
        while child.restarts < 3 and time.monotonic() < deadline:
            supervisor.check()
            if child.restart_at is not None and (not pauses or pauses[-1][0] != child.restarts):
                pauses.append((child.restarts, child.backoff))
            time.sleep(0.05)
        assert child.restarts == 3
        assert [b for _, b in pauses[:3]] == [1.0, 2.0, 4.0]
        assert any("exited with code 3" in line for line in lines)
    finally:
        supervisor.stop()


def test_a_death_just_before_the_stop_is_reported_not_taken_for_a_clean_stop():
    lines: list[str] = []
    supervisor = Supervisor(lines.append)
    child = supervisor.add_command("short", [sys.executable, "-c", "raise SystemExit(5)"])
    child.launch()
    child.proc.wait(10)  # it died, and no round of check() has seen it yet
    supervisor.stop()
    assert lines == ["  short exited with code 5", "  stopped short"]


def _children(pid: int) -> dict[int, str]:
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid and stat.rsplit(")", 1)[1].split()[0] != "Z":
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                )
        except (OSError, ValueError, IndexError):
            continue
    return found


def _health(base: str) -> dict | None:
    """/healthz as a balancer reads it: ``up`` (every part, worker and beat included),
    ``degraded`` or, with a 503 (an OSError here), ``down``."""
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=3) as response:
            return {"status": response.read().decode().strip()}
    except OSError:
        return None


@pytest.mark.live
def test_runparley_restarts_a_child_that_was_killed(tmp_path):
    from tests.test_embedded import embedded_env

    port = _free_port(PORT_BASE + 10)
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "runparley", "--port", str(port), "--concurrency", "1"],
        cwd=ROOT, env=embedded_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def wait_for(predicate, what: str, within: float = 90.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert runner.poll() is None, runner.stdout.read()
            value = predicate()
            if value:
                return value
            time.sleep(0.5)
        pytest.fail(f"timed out waiting for {what}")

    try:
        wait_for(lambda: (_health(base) or {}).get("status") == "up", "the server")

        def child(word: str) -> int | None:
            return next((p for p, cmd in _children(runner.pid).items() if word in cmd), None)

        for word in ("daphne", " beat ", " worker "):
            victim = wait_for(lambda w=word: child(w), word)
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda w=word, v=victim: child(w) not in (None, v), f"a new {word}")
        wait_for(lambda: (_health(base) or {}).get("status") == "up", "the server again")
        assert runner.poll() is None
    finally:
        runner.send_signal(signal.SIGTERM)
        try:
            out, _ = runner.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
            out, _ = runner.communicate()
    for name in ("daphne", "celery beat", "celery worker"):
        assert f"restarting {name}" in out, out[-3000:]
