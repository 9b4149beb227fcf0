from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The core emits its integration events through chat.hooks; the outbox listens.
        # Tasks are imported to be registered in every process (queued by name).
        from chat import hooks
        from integrations import tasks  # noqa: F401
        from integrations.services.outbox import hook_sink

        hooks.connect(hook_sink)
