import os

from celery import Celery
from celery.signals import task_postrun, worker_process_init
from django.conf import settings
from django.db import connections

from config import malloc_trim

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("parley")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _trim_heap(**_kwargs) -> None:
    """Each prefork child gives its heap's freed pages back (config/malloc_trim.py); the
    pool's parent runs no tasks."""
    malloc_trim.start(settings.PARLEY["MALLOC_TRIM_INTERVAL"])


@task_postrun.connect
def _drop_broken_connections(**_kwargs) -> None:
    """A task that hit a database error leaves its connection closed if it is broken.

    The children keep their connection across tasks (CELERY_DB_REUSE_MAX), and with reuse
    Celery no longer runs Django's per-request check: after the database dropped its
    connections (a restart, a failover, PgBouncer recycling) every task of the child
    failed on the dead one, 566 in a row in a fault probe, until the worker was killed.
    Django marks a connection after any error but a data or integrity error; such a
    connection is closed here and the next task opens a fresh one."""
    for conn in connections.all(initialized_only=True):
        if conn.errors_occurred and conn.connection is not None and not conn.in_atomic_block:
            conn.close()
            conn.errors_occurred = False
