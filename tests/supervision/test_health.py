"""/healthz: django-health-check's checks, red when Redis or the worker is down."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from chat.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat
from supervision import health
from supervision.signals import BEAT_HEARTBEAT_KEY, beat_heartbeat_write

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = get_user_model().objects.create_user("boss", password="pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def beats():
    """Both heartbeats fresh, as a running worker and beat keep them."""
    worker_heartbeat()
    beat_heartbeat_write()
    yield
    cache.delete_many([WORKER_HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.redis  # the Redis check must pass: a real server
def test_all_up_staff_get_detail_balancers_a_plain_word(client, staff_client, beats):
    response = staff_client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "up"
    assert set(body["components"]) == {"database", "redis", "worker", "beat", "migrations", "disk"}
    assert all(c["state"] == "up" for c in body["components"].values()), body
    client.logout()
    plain = client.get("/healthz")
    assert plain.status_code == 200
    assert plain["Content-Type"].startswith("text/plain")
    assert plain.content == b"up\n"
    assert plain["Cache-Control"].startswith("max-age=0")


@pytest.mark.redis
def test_red_when_redis_is_down(client, staff_client, beats, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["components"]["redis"]["state"] == "down"
    assert body["components"]["database"]["state"] == "up"
    client.logout()
    assert client.get("/healthz").status_code == 503
    assert client.get("/healthz").content == b"down\n"


@pytest.mark.redis  # the Redis check must pass: a real server
def test_worker_red_when_its_heartbeat_is_stale(staff_client, beats, settings):
    cache.set(WORKER_HEARTBEAT_KEY, time.time() - settings.SUPERVISION["HEARTBEAT_STALE_AFTER"] - 5)
    body = staff_client.get("/healthz").json()
    assert body["components"]["worker"]["state"] == "down"
    assert "heartbeat is" in body["components"]["worker"]["message"]
    assert body["components"]["beat"]["state"] == "up"
    # The chat still works without the worker: degraded, and balancers keep the process.
    assert body["status"] == "degraded"


@pytest.mark.redis  # the Redis check must pass: a real server
def test_worker_and_beat_red_when_no_heartbeat_at_all(client):
    cache.delete_many([WORKER_HEARTBEAT_KEY, BEAT_HEARTBEAT_KEY])
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"degraded\n"


@pytest.mark.redis  # the Redis check must pass: a real server
def test_unapplied_migration_is_red(staff_client, beats, settings, monkeypatch):
    # A process whose code has one more migration than the database has applied.
    monkeypatch.setattr(health, "_needed", None)
    settings.MIGRATION_MODULES = {"supervision": "tests.supervision.pending_migrations"}
    response = staff_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["components"]["migrations"]["state"] == "down"


@pytest.mark.redis
def test_new_code_on_disk_before_migrate_leaves_running_processes_up(
    staff_client, beats, settings, monkeypatch
):
    """A deploy copies the new code, then migrates: a process still running the old code
    needs nothing new and stays in the balancer (read at every probe, every process went
    down at once)."""
    monkeypatch.setattr(health, "_needed", None)
    assert staff_client.get("/healthz").status_code == 200  # this process's code: all applied
    settings.MIGRATION_MODULES = {"supervision": "tests.supervision.pending_migrations"}
    assert staff_client.get("/healthz").status_code == 200
    monkeypatch.setattr(health, "_needed", None)  # a process started on the new code
    assert staff_client.get("/healthz").status_code == 503


@pytest.mark.redis
def test_an_outage_is_logged_when_it_starts_and_ends_not_at_every_probe(
    client, beats, settings, caplog
):
    """A balancer probes every few seconds: the log says when this process went down and
    came back (with why), once each, not a "Service Unavailable" line per probe."""
    health._last_state = None
    client.get("/healthz")  # up: nothing to say
    good = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert client.get("/healthz").status_code == 503
        settings.REDIS_URL = good
        assert client.get("/healthz").status_code == 200
    said = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert [s for s in said if s[0] == "django.request"] == []
    changes = [s for s in said if s[0] == "supervision.health"]
    assert [(level, text.split(":")[0]) for _, level, text in changes] == [
        ("WARNING", "health up -> down"),
        ("INFO", "health down -> up"),
    ]
    assert "redis: down" in changes[0][2]
