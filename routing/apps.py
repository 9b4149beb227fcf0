from django.apps import AppConfig
from django.db.models.signals import post_migrate

from routing.dbfunctions import install_after_migrate


class RoutingConfig(AppConfig):
    name = "routing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The router's PostgreSQL functions live in routing/sql/ and are installed after
        # migrate, not frozen in a migration (routing/dbfunctions.py).
        post_migrate.connect(install_after_migrate, sender=self, dispatch_uid="routing-sql")
        # Register the Celery tasks in every process: the dispatcher queues them by name,
        # and Celery's autodiscovery runs only in workers. Here, not at the top: task
        # modules import services, which need the models loaded.
        from routing import tasks  # noqa: F401
