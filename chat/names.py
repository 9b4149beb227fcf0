"""The name a person of the staff is shown by, everywhere: to customers (the widget's
participants, "… joined the conversation", the satisfaction question), in consoles, in
webhooks and in canned replies' ``{{agent.name}}``.

The core knows users only, not agent profiles: the agents app registers the profile's
display name here at start-up (``AgentsConfig.ready``). Without one (or with an empty one)
the name is the user's full name, then the username. A provider is called on a loaded user
and reads what is loaded beside it where it can (the send path loads each participant's
profile with it), so a name costs no query there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NameProvider = Callable[[Any], str]
_providers: list[NameProvider] = []


def provide(provider: NameProvider) -> None:
    """Register ``provider(user) -> str`` (empty: no name from it)."""
    if provider not in _providers:
        _providers.append(provider)


def user_name(user: Any) -> str:
    """The name ``user`` is shown by: the first provider's non-empty answer, else the
    user's full name, else the username."""
    for provider in _providers:
        name = provider(user)
        if name:
            return name
    return user.get_full_name() or user.get_username()
