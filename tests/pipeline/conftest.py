from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.pipeline.stubs import TranslationStub

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub():
    with TranslationStub() as server:
        yield server


@pytest.fixture
def pipeline_settings(settings):
    """Set pipeline settings for one test: pipeline_settings(TRANSLATION_ENGINE="fake")."""

    def apply(**values):
        settings.PARLEY_PIPELINE = {**settings.PARLEY_PIPELINE, **values}
        return settings.PARLEY_PIPELINE

    return apply


@pytest.fixture
def fake_engine(pipeline_settings):
    return pipeline_settings(TRANSLATION_ENGINE="fake")


@pytest.fixture
def published(settings):
    """Frames services published, per group, on Channels' in-memory layer."""
    from channels.layers import get_channel_layer

    from tests.chat.conftest import LayerRecorder

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return LayerRecorder(get_channel_layer())


class WorkerProcess:
    """A real `celery -A config worker` in a subprocess, pointed at the test database and
    the test Redis, with the same channel-layer prefix, so what it publishes reaches the
    test's sockets."""

    def __init__(self, *, database: str, extra_env: dict[str, str]) -> None:
        from django.conf import settings

        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{database}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "SECRET_KEY": settings.SECRET_KEY,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"],
            "CHANNEL_LAYER_BACKEND": "pubsub",
            "LOG_LEVEL": "WARNING",
            **extra_env,
        }
        self.env.pop("CELERY_BROKER_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed in stop)
            prefix="celery-", suffix=".log", delete=False
        )

    def start(self, timeout: float = 60.0) -> None:
        from django.core.cache import cache

        from chat.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat

        cache.delete(WORKER_HEARTBEAT_KEY)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo",
             "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
             "-n", f"pipeline-test-{os.getpid()}@%h"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        # Ready when it has run a task: the heartbeat lands in the shared cache.
        worker_heartbeat.delay()
        deadline = time.monotonic() + timeout
        while cache.get(WORKER_HEARTBEAT_KEY) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        return Path(self.log.name).read_text()[-4000:]

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()  # warm shutdown: a task in flight finishes (acks_late)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture
def celery_worker(transactional_db, pipeline_settings):
    """Start with `celery_worker.start()`; stopped after the test. The test process and the
    worker use the same pipeline settings (the fake engine unless told otherwise)."""
    from django.db import connection

    from config.celery import app

    pipeline_settings(TRANSLATION_ENGINE="fake")
    app.control.purge()  # tasks left in this Redis database by earlier runs
    worker = WorkerProcess(
        database=connection.settings_dict["NAME"],
        extra_env={"TRANSLATION_ENGINE": "fake", "PIPELINE_ENABLED": "true"},
    )
    yield worker
    worker.stop()
    worker.log.close()
    os.unlink(worker.log.name)
