from django.apps import AppConfig

from chat import names


def profile_name(user) -> str:
    """An agent's name as set in admin (the profile's display name); "" for a user with no
    profile or an empty one (chat.names falls back to the full name, then the username).
    Reads the profile loaded with the user where there is one (the send path loads it);
    else one query, whose answer (None too) stays cached on the user."""
    profile = getattr(user, "agent_profile", None)
    return profile.display_name if profile is not None else ""


class AgentsConfig(AppConfig):
    name = "agents"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        names.provide(profile_name)
