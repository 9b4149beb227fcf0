"""The integrations' settings (README "Configuration"), read at use so tests can change them."""

from __future__ import annotations

from django.conf import settings

# Seconds after each failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 7 h (Standard
# Webhooks' schedule, its last step shortened): eight attempts over about 24.6 hours.
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 25200)


def get(name: str):
    return settings.PARLEY_INTEGRATIONS[name]
