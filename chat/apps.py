from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the app's Celery tasks in every process: services queue them by name
        # (current_app.tasks[...]), and Celery's autodiscovery runs only in workers. Here,
        # not at the top: task modules import services, which need the models loaded.
        from chat import tasks  # noqa: F401
