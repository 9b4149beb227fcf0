from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "supervision"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery tasks registered in every process (looked up by name), and the process
        # hooks (task failures counted, log context per task, beat's own heartbeat). Here,
        # not at the top: the modules import models.
        from supervision import signals, tasks  # noqa: F401
