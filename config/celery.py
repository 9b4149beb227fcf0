import os

from celery import Celery
from celery.signals import worker_process_init
from django.conf import settings

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
