from django.apps import AppConfig
from django.db.models.signals import post_migrate

from chat.dbfunctions import SEND_SQL


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The send's PostgreSQL function lives in chat/sql/ and is installed after migrate,
        # not frozen in a migration (chat/dbfunctions.py).
        post_migrate.connect(SEND_SQL.install_after_migrate, sender=self, dispatch_uid="chat-sql")
        # Register the app's Celery tasks in every process: services queue them by name
        # (current_app.tasks[...]), and Celery's autodiscovery runs only in workers. Here,
        # not at the top: task modules import services, which need the models loaded.
        from chat import tasks  # noqa: F401
